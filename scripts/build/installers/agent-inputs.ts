import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256File } from "../agent-binary.js";
import { targetByName, type TargetName } from "../targets.js";

/**
 * The agent binary of `target` from the binary build's output directory (dist/agent). It must be the
 * one SHA256SUMS lists, which the binary build writes only for binaries of the current sources: an
 * installer never wraps a binary left over from older sources or changed since.
 */
export async function agentBinary(agentDir: string, target: TargetName): Promise<string> {
  const { fileName } = targetByName(target);
  const path = join(agentDir, fileName);
  const rebuild = `npm run build:agent -- --target ${target}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: ${rebuild}`);
  const sums = existsSync(join(agentDir, "SHA256SUMS")) ? await readFile(join(agentDir, "SHA256SUMS"), "utf8") : "";
  const listed = sums.split("\n").find((line) => line.endsWith(`  ${fileName}`))?.split(" ")[0];
  if (!listed) throw new Error(`${path} is not in ${join(agentDir, "SHA256SUMS")} (built from older sources?): ${rebuild}`);
  if ((await sha256File(path)) !== listed) throw new Error(`${path} differs from its SHA256SUMS line (changed after the build?): ${rebuild}`);
  return path;
}
