import { findTool, runTool } from "../tools.js";

/** What an ELF executable needs from the system's shared libraries: sonames and symbol versions. */
export interface ElfNeeds {
  /** DT_NEEDED: libc.so.6, libstdc++.so.6, … in the file's order. */
  needed: string[];
  /** Version references per soname: libc.so.6 → [GLIBC_2.2.5, GLIBC_2.28, …]. */
  versions: Map<string, string[]>;
  /** Only a GNU hash table (no DT_HASH): the dynamic loader must support it (rpm's `rtld(GNU_HASH)`). */
  gnuHashOnly: boolean;
}

/** Reads `llvm-objdump -p` (the dynamic section and version references: headers only, fast on 100 MB). */
export async function readElfNeeds(file: string): Promise<ElfNeeds> {
  const objdump = await findTool(["llvm-objdump"], "llvm");
  return parseObjdumpPrivateHeaders(await runTool(objdump, ["-p", file]));
}

export function parseObjdumpPrivateHeaders(text: string): ElfNeeds {
  const needed: string[] = [];
  const versions = new Map<string, string[]>();
  let section = "";
  let from: string | undefined;
  let hash = false;
  let gnuHash = false;
  for (const line of text.split("\n")) {
    if (/^\S/.test(line)) {
      section = line.trim();
      from = undefined;
      continue;
    }
    if (section === "Dynamic Section:") {
      const [tag, value] = line.trim().split(/\s+/);
      if (tag === "NEEDED" && value) needed.push(value);
      if (tag === "HASH") hash = true;
      if (tag === "GNU_HASH") gnuHash = true;
    } else if (section === "Version References:") {
      const required = line.match(/^\s+required from (\S+):$/);
      if (required) {
        from = required[1]!;
        versions.set(from, []);
        continue;
      }
      const version = line.match(/^\s+0x[0-9a-f]+ 0x[0-9a-f]+ \d+ (\S+)$/);
      if (version && from) versions.get(from)!.push(version[1]!);
    }
  }
  if (needed.length === 0) throw new Error("llvm-objdump -p shows no NEEDED libraries: not a dynamically linked ELF executable?");
  return { needed, versions, gnuHashOnly: gnuHash && !hash };
}

/** Compares dotted versions numerically: "2.28" > "2.3". */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The highest `PREFIX_x.y` among `versions` (GLIBC_2.28 for "GLIBC"), as "x.y"; undefined when none. */
export function highestVersion(versions: readonly string[], prefix: string): string | undefined {
  return versions
    .filter((v) => v.startsWith(`${prefix}_`))
    .map((v) => v.slice(prefix.length + 1))
    .sort(compareVersions)
    .at(-1);
}
