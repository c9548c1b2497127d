import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { sha256File } from "../agent-binary.js";

/**
 * Updates SHA256SUMS (`sha256sum -c` format) in `outDir`: the files just built, plus the entries of
 * earlier builds whose file is still there unchanged (a build of one kind keeps the others' lines).
 */
export async function updateChecksums(outDir: string, built: readonly string[], log: (line: string) => void = () => {}): Promise<string> {
  const path = join(outDir, "SHA256SUMS");
  const sums = new Map<string, string>();
  if (existsSync(path)) {
    for (const line of (await readFile(path, "utf8")).split("\n")) {
      const match = line.match(/^([0-9a-f]{64}) [ *](.+)$/);
      if (!match) continue;
      const [, sum, name] = match as unknown as [string, string, string];
      const file = join(outDir, name);
      if (!existsSync(file)) continue;
      if ((await sha256File(file)) === sum) sums.set(name, sum);
      else log(`${name} changed since it was listed: left out of SHA256SUMS`);
    }
  }
  for (const file of built) sums.set(basename(file), await sha256File(file));
  const lines = [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([name, sum]) => `${sum}  ${name}\n`);
  await writeFile(`${path}.tmp`, lines.join(""));
  await rename(`${path}.tmp`, path);
  return path;
}
