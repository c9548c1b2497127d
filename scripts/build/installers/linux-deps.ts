import { compareVersions, highestVersion, type ElfNeeds } from "./elf-needs.js";

/**
 * The system libraries a Linux agent binary needs, as package dependencies, computed from the binary
 * itself (its NEEDED sonames and symbol versions), so a newer Node.js with newer needs cannot slip into
 * a package that promises less. Node's official Linux builds need glibc ≥ 2.28, libstdc++ and libgcc_s.
 */

/** The sonames glibc provides: one dependency on libc6 / glibc covers them all. */
const GLIBC_SONAMES = new Set(["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"]);

/**
 * The libstdc++6 version (Debian's) that first had each symbol version, from its symbols file. Older
 * ones predate every distribution with glibc 2.28 and need no version in the dependency.
 */
const LIBSTDCXX_SINCE: Record<string, string> = {
  "GLIBCXX_3.4.20": "4.9",
  "GLIBCXX_3.4.21": "5.2",
  "GLIBCXX_3.4.22": "6",
  "GLIBCXX_3.4.24": "7",
  "GLIBCXX_3.4.25": "8",
  "GLIBCXX_3.4.26": "9",
  "GLIBCXX_3.4.27": "9.1",
  "GLIBCXX_3.4.23": "10.2",
  "GLIBCXX_3.4.28": "10.2",
  "GLIBCXX_3.4.29": "11",
  "GLIBCXX_3.4.30": "12",
  "CXXABI_1.3.8": "4.3",
  "CXXABI_1.3.9": "5",
  "CXXABI_1.3.10": "6",
  "CXXABI_1.3.12": "9",
  "CXXABI_1.3.11": "10.2",
  "CXXABI_1.3.13": "11",
};
const LIBSTDCXX_KNOWN_UP_TO = { GLIBCXX: "3.4.30", CXXABI: "1.3.13" };

/** The Debian `Depends:` value: libc6 (>= 2.28), libgcc-s1 | libgcc1, libstdc++6 (>= 5.2). */
export function debDepends(needs: ElfNeeds): string {
  const depends: string[] = [];
  const unknown = needs.needed.filter((s) => !GLIBC_SONAMES.has(s) && s !== "libstdc++.so.6" && s !== "libgcc_s.so.1");
  if (unknown.length > 0) throw new Error(`the binary needs ${unknown.join(", ")}: add the Debian package that has it to linux-deps.ts`);

  const glibc = highestVersion(needs.needed.filter((s) => GLIBC_SONAMES.has(s)).flatMap((s) => needs.versions.get(s) ?? []), "GLIBC");
  depends.push(glibc ? `libc6 (>= ${glibc})` : "libc6");
  // Debian 10 calls it libgcc1, 11 and later libgcc-s1; every one has the GCC_3.x/4.x versions Node uses.
  if (needs.needed.includes("libgcc_s.so.1")) depends.push("libgcc-s1 | libgcc1");
  if (needs.needed.includes("libstdc++.so.6")) {
    const versions = needs.versions.get("libstdc++.so.6") ?? [];
    for (const [prefix, known] of Object.entries(LIBSTDCXX_KNOWN_UP_TO)) {
      const highest = highestVersion(versions, prefix);
      if (highest && compareVersions(highest, known) > 0) throw new Error(`the binary needs ${prefix}_${highest}: add it to LIBSTDCXX_SINCE in linux-deps.ts`);
    }
    const since = versions.map((v) => LIBSTDCXX_SINCE[v]).filter((v): v is string => v !== undefined).sort(compareVersions).at(-1);
    depends.push(since ? `libstdc++6 (>= ${since})` : "libstdc++6");
  }
  return depends.join(", ");
}

/**
 * The rpm `Requires:` lines, as rpm's own ELF dependency generator writes them (`libc.so.6(GLIBC_2.28)(64bit)`):
 * soname-based, so they hold on Fedora, RHEL and openSUSE alike, whatever each calls its packages. rpm's
 * generator is off (AutoReqProv: no), so the result does not depend on how the build machine's rpm is set up.
 */
export function rpmRequires(needs: ElfNeeds): string[] {
  const requires: string[] = [];
  for (const soname of needs.needed) {
    requires.push(`${soname}()(64bit)`);
    for (const version of [...(needs.versions.get(soname) ?? [])].sort()) requires.push(`${soname}(${version})(64bit)`);
  }
  if (needs.gnuHashOnly) requires.push("rtld(GNU_HASH)");
  return requires;
}
