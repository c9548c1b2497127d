import { isAbsolute } from "node:path";
import type * as Sea from "node:sea";

/** node:sea exists from Node 20.12; getBuiltinModule keeps older Nodes (source runs only) loading this file. */
function sea(): typeof Sea | undefined {
  return process.getBuiltinModule?.("node:sea");
}

/**
 * What `install` puts at the binary's place: the native binary (a Node single executable) copied as it
 * is, or, when the agent runs from a source checkout, a small shell script that starts the checkout with
 * the same Node and loader. The script is for development and tests on Linux and macOS.
 */
export type AgentExecutable = { kind: "native"; path: string } | { kind: "script"; content: string };

export function currentExecutable(): AgentExecutable {
  if (sea()?.isSea()) return { kind: "native", path: process.execPath };
  const cli = process.argv[1];
  if (!cli) throw new Error("cannot tell which script runs the agent");
  const words = [process.execPath, ...nodeOptions(process.execArgv), cli];
  return {
    kind: "script",
    content: `#!/bin/sh
# The Tether agent from the source checkout at ${cli}, installed by \`tether-agent install\` run from source.
exec ${words.map(shellQuote).join(" ")} "$@"
`,
  };
}

/** WinSW's executable, carried by the Windows binary as the SEA asset "winsw.exe" (scripts/build). */
export async function winswExecutable(): Promise<Buffer> {
  const module = sea();
  if (module?.isSea()) {
    try {
      return Buffer.from(module.getRawAsset("winsw.exe") as ArrayBuffer);
    } catch {
      // Not built in: say so below.
    }
  }
  throw new Error("this agent binary does not carry the WinSW service wrapper (SEA asset winsw.exe): use a binary built by scripts/build, or the MSI");
}

/**
 * Node's own flags, with the module names of --import/--require resolved to absolute URLs: `--import tsx`
 * works only from the checkout, while the service starts elsewhere.
 */
function nodeOptions(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const joined = /^(--import|--require|--loader|--experimental-loader|-r)=(.*)$/.exec(arg);
    if (joined) {
      out.push(`${joined[1]}=${resolveModule(joined[2]!)}`);
    } else if (/^(--import|--require|--loader|--experimental-loader|-r)$/.test(arg) && i + 1 < execArgv.length) {
      out.push(arg, resolveModule(execArgv[++i]!));
    } else {
      out.push(arg);
    }
  }
  return out;
}

function resolveModule(specifier: string): string {
  if (isAbsolute(specifier) || /^[a-z]+:/.test(specifier)) return specifier;
  return import.meta.resolve(specifier);
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
