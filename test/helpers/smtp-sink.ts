import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "./control-plane.js";

export interface ReceivedMail {
  from: string | null;
  to: string[];
  /** The message as received (headers and body, transfer encodings not undone). */
  raw: string;
  /** The body with quoted-printable undone, for reading links out of it. */
  text: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: ReceivedMail[];
  stop(): Promise<void>;
}

/** Starts test/fixtures/smtp/smtp-sink.ts, a real SMTP server process on 127.0.0.1, and collects what it receives. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/fixtures/smtp/smtp-sink.ts")], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  const messages: ReceivedMail[] = [];
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the SMTP sink exited with code ${code} before it listened`)));
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { listening?: number; from: string | null; to: string[]; raw: string };
      if (event.listening) resolve(event.listening);
      else messages.push({ from: event.from, to: event.to, raw: event.raw, text: decodeQuotedPrintable(event.raw) });
    });
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

function decodeQuotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
