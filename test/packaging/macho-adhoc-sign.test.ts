import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { adhocSign, removeSignature, signatureSize } from "../../scripts/build/macho-adhoc-sign.js";
import { CPU_TYPE_ARM64, CS_ADHOC, CS_LINKER_SIGNED, parseMachO, readSignature, segment, verifySignature } from "../../scripts/build/macho.js";
import { tempDir } from "./binaries.js";

// Our ad-hoc signer against the reference we have on Linux: Go's linker, which ad-hoc signs every
// darwin/arm64 executable it links (Debian's golang-go). Go names the identifier after its temporary
// output file, "a.out".
const GO_IDENTIFIER = "a.out";

describe("Mach-O ad-hoc signer", () => {
  let goArm64: Buffer;
  let goAmd64: Buffer;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir("tether-macho-");
    await writeFile(join(dir, "go.mod"), "module hello\n\ngo 1.19\n");
    await writeFile(join(dir, "main.go"), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n');
    const env = { CGO_ENABLED: "0", GOPROXY: "off", GOFLAGS: "-mod=mod", GOOS: "darwin" };
    try {
      await execa("go", ["build", "-o", "hello-arm64", "."], { cwd: dir, env: { ...env, GOARCH: "arm64" } });
      await execa("go", ["build", "-o", "hello-amd64", "."], { cwd: dir, env: { ...env, GOARCH: "amd64" } });
    } catch (error) {
      throw new Error(`cannot build the Go reference binaries (apt-get install golang-go): ${(error as Error).message}`);
    }
    goArm64 = await readFile(join(dir, "hello-arm64"));
    goAmd64 = await readFile(join(dir, "hello-amd64"));
  }, 180_000);

  it("agrees with Go's signature: our reader verifies every page hash of it", () => {
    expect(verifySignature(goArm64)).toEqual([]);
    const cd = readSignature(goArm64).codeDirectory;
    expect(cd.identifier).toBe(GO_IDENTIFIER);
    expect(cd.flags).toBe(CS_ADHOC | CS_LINKER_SIGNED);
    expect(parseMachO(goArm64).codeSignature!.datasize).toBe(signatureSize(cd.codeLimit, GO_IDENTIFIER));
  });

  it("re-signing Go's binary reproduces it byte for byte", () => {
    expect(adhocSign(goArm64, GO_IDENTIFIER).equals(goArm64)).toBe(true);
  });

  it("removing Go's signature, then signing, reproduces Go's file byte for byte (new LC_CODE_SIGNATURE, __LINKEDIT grown)", () => {
    const before = parseMachO(goArm64);
    const unsigned = removeSignature(goArm64);
    const stripped = parseMachO(unsigned);
    expect(stripped.codeSignature).toBeUndefined();
    expect(stripped.ncmds).toBe(before.ncmds - 1);
    expect(unsigned.length).toBe(before.codeSignature!.dataoff);
    const linkedit = segment(stripped, "__LINKEDIT");
    expect(linkedit.fileoff + linkedit.filesize).toBe(unsigned.length);

    const signed = adhocSign(unsigned, GO_IDENTIFIER);
    expect(signed.length).toBe(goArm64.length);
    const ours = readSignature(signed).codeDirectory.bytes;
    const go = readSignature(goArm64).codeDirectory.bytes;
    expect(ours.equals(go)).toBe(true);
    expect(signed.equals(goArm64)).toBe(true);
  });

  it("signs an unsigned x86_64 file (Go leaves darwin/amd64 unsigned) and LLVM reads the result", async () => {
    expect(parseMachO(goAmd64).codeSignature).toBeUndefined();
    const signed = adhocSign(goAmd64, "tether-test");
    expect(verifySignature(signed)).toEqual([]);
    const macho = parseMachO(signed);
    expect(macho.ncmds).toBe(parseMachO(goAmd64).ncmds + 1);
    const linkedit = segment(macho, "__LINKEDIT");
    expect(linkedit.vmsize).toBeGreaterThanOrEqual(BigInt(linkedit.filesize));
    expect(readSignature(signed).codeDirectory.identifier).toBe("tether-test");
    const path = join(dir, "signed-amd64");
    await writeFile(path, signed);
    const { stdout } = await execa("llvm-objdump", ["--macho", "--private-headers", path]);
    expect(stdout).toMatch(/cmd LC_CODE_SIGNATURE\s+cmdsize 16\s+dataoff (\d+)\s+datasize (\d+)/);
  });

  it("rounds a grown __LINKEDIT's vmsize to the CPU's page size (16 KiB on arm64)", () => {
    const unsigned = removeSignature(goArm64);
    // Make __LINKEDIT's vmsize exactly its filesize, as postject leaves it, so the signature cannot fit.
    const linkedit = segment(parseMachO(unsigned), "__LINKEDIT");
    unsigned.writeBigUInt64LE(BigInt(linkedit.filesize), linkedit.commandOffset + 32);
    const macho = parseMachO(adhocSign(unsigned, "x"));
    expect(macho.cputype).toBe(CPU_TYPE_ARM64);
    expect(segment(macho, "__LINKEDIT").vmsize % 0x4000n).toBe(0n);
  });

  it("refuses what it cannot sign", () => {
    expect(() => adhocSign(Buffer.from("not a mach-o file at all, not even close"), "x")).toThrow(/not a 64-bit/);
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    expect(() => adhocSign(fat, "x")).toThrow(/universal/);
    expect(() => adhocSign(Buffer.concat([removeSignature(goArm64), Buffer.alloc(100)]), "x")).toThrow(/__LINKEDIT ends/);
  });
});
