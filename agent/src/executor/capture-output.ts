import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { OutputTail } from "./output-tail.js";
import type { RunHooks } from "./types.js";

export interface CapturedOutput {
  tail: OutputTail;
  /** Resolves when the stream has ended or was destroyed. */
  done: Promise<void>;
}

/**
 * Reads one output stream of the script: every chunk goes to the capped tail and, decoded, to onOutput.
 * The decoder holds back a partial UTF-8 character until its last byte arrives.
 */
export function captureOutput(
  stream: Readable,
  name: "stdout" | "stderr",
  limitBytes: number,
  onOutput: RunHooks["onOutput"],
): CapturedOutput {
  const tail = new OutputTail(limitBytes);
  const decoder = new StringDecoder("utf8");
  const forward = (text: string) => {
    if (!onOutput || text === "") return;
    try {
      onOutput(name, text);
    } catch {
      // The caller's live view failing must not stop the capture of the result.
    }
  };
  stream.on("data", (chunk: Buffer) => {
    tail.push(chunk);
    forward(decoder.write(chunk));
  });
  const done = new Promise<void>((resolve) => {
    stream.once("close", () => {
      forward(decoder.end());
      resolve();
    });
  });
  return { tail, done };
}
