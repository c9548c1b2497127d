import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * Starts `tether-server serve` for a benchmark and resolves once it logs that it listens (so at level info).
 * `nodeArgs` go to node itself, e.g. `--cpu-prof` to profile the server.
 */
export async function startServerProcess(dataDir: string, port: number, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(ROOT, "control-plane/src/cli.ts"), "serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`], {
    cwd: ROOT,
    env: { ...process.env, ...env, TETHER_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((ready, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("control plane listening")) ready();
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return child;
}

export async function stopServerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
