// The Linux packages' dependencies, computed from a binary's `llvm-objdump -p` (canned: the header of
// Node 22's official linux-arm64 build, trimmed), and the version rule shared by all installers.
import { describe, expect, it } from "vitest";
import { parseObjdumpPrivateHeaders } from "../../scripts/build/installers/elf-needs.js";
import { debDepends, rpmRequires } from "../../scripts/build/installers/linux-deps.js";
import { checkVersion } from "../../scripts/build/installers/metadata.js";

const OBJDUMP = `
dist/agent/tether-agent-linux-arm64:	file format elf64-littleaarch64

Program Header:
    PHDR off    0x0000000000000040 vaddr 0x0000000000400040 paddr 0x0000000000400040 align 2**3

Dynamic Section:
  NEEDED       libdl.so.2
  NEEDED       libstdc++.so.6
  NEEDED       libm.so.6
  NEEDED       libgcc_s.so.1
  NEEDED       libpthread.so.0
  NEEDED       libc.so.6
  NEEDED       ld-linux-aarch64.so.1
  INIT         0x0000000000e0aa80
  GNU_HASH     0x00000000004002d0
  VERNEED      0x0000000000e06f60

Version References:
  required from ld-linux-aarch64.so.1:
    0x06969197 0x00 25 GLIBC_2.17
  required from libdl.so.2:
    0x06969197 0x00 22 GLIBC_2.17
  required from libstdc++.so.6:
    0x0bafd175 0x00 17 CXXABI_1.3.5
    0x0bafd179 0x00 08 CXXABI_1.3.9
    0x08922974 0x00 07 GLIBCXX_3.4
    0x0297f871 0x00 20 GLIBCXX_3.4.21
    0x0297f869 0x00 30 GLIBCXX_3.4.19
  required from libpthread.so.0:
    0x06969197 0x00 06 GLIBC_2.17
  required from libgcc_s.so.1:
    0x09276060 0x00 24 GCC_4.2.0
  required from libm.so.6:
    0x06969187 0x00 19 GLIBC_2.27
  required from libc.so.6:
    0x06969188 0x00 12 GLIBC_2.28
    0x06969185 0x00 03 GLIBC_2.25
    0x06969197 0x00 02 GLIBC_2.17
`;

describe("Linux package dependencies", () => {
  const needs = parseObjdumpPrivateHeaders(OBJDUMP);

  it("reads the NEEDED libraries and their symbol versions", () => {
    expect(needs.needed).toEqual(["libdl.so.2", "libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libpthread.so.0", "libc.so.6", "ld-linux-aarch64.so.1"]);
    expect(needs.versions.get("libc.so.6")).toEqual(["GLIBC_2.28", "GLIBC_2.25", "GLIBC_2.17"]);
    expect(needs.gnuHashOnly).toBe(true);
  });

  it("deb: the highest glibc version (2.28 > 2.3 numerically), libgcc, and the libstdc++ that has GLIBCXX_3.4.21", () => {
    expect(debDepends(needs)).toBe("libc6 (>= 2.28), libgcc-s1 | libgcc1, libstdc++6 (>= 5.2)");
  });

  it("deb: a library or a libstdc++ version it does not know stops the build", () => {
    const extra = parseObjdumpPrivateHeaders(OBJDUMP.replace("  NEEDED       libdl.so.2\n", "  NEEDED       libdl.so.2\n  NEEDED       libssl.so.3\n"));
    expect(() => debDepends(extra)).toThrow(/libssl\.so\.3/);
    const newer = parseObjdumpPrivateHeaders(OBJDUMP.replace("GLIBCXX_3.4.21", "GLIBCXX_3.4.33"));
    expect(() => debDepends(newer)).toThrow(/GLIBCXX_3\.4\.33/);
  });

  it("rpm: soname requirements as rpm's own generator writes them", () => {
    const requires = rpmRequires(needs);
    expect(requires).toContain("libc.so.6()(64bit)");
    expect(requires).toContain("libc.so.6(GLIBC_2.28)(64bit)");
    expect(requires).toContain("libstdc++.so.6(GLIBCXX_3.4.21)(64bit)");
    expect(requires).toContain("libgcc_s.so.1(GCC_4.2.0)(64bit)");
    expect(requires).toContain("ld-linux-aarch64.so.1()(64bit)");
    expect(requires).toContain("rtld(GNU_HASH)");
    expect(requires.filter((r) => r.includes("%") || /\s/.test(r))).toEqual([]);
  });

  it("an objdump without NEEDED (a static or non-ELF file) is an error", () => {
    expect(() => parseObjdumpPrivateHeaders("x:\tfile format elf64-x86-64\n\nDynamic Section:\n")).toThrow(/no NEEDED/);
  });
});

describe("installer versions", () => {
  it("takes MAJOR.MINOR.PATCH that every format orders the same way", () => {
    expect(checkVersion("0.1.0")).toBe("0.1.0");
    expect(checkVersion("255.255.65535")).toBe("255.255.65535");
    for (const bad of ["0.1", "0.1.0-rc.1", "01.2.3", "1.2.3.4", "256.0.0", "1.2.65536", "v1.2.3"]) expect(() => checkVersion(bad), bad).toThrow();
  });
});
