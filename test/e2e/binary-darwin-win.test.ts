import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { CPU_TYPE_ARM64, CPU_TYPE_X86_64, CS_ADHOC, CS_EXECSEG_MAIN_BINARY, CS_HASHTYPE_SHA256, CSSLOT_CODEDIRECTORY, parseMachO, readSignature, segment, verifySignature } from "../../scripts/build/macho.js";
import { parsePe, peChecksum } from "../../scripts/build/pe.js";
import { SEA_FUSE } from "../../scripts/build/sea.js";
import { BUILD_TIMEOUT_MS, ensureBinaries } from "../packaging/binaries.js";

// The macOS and Windows binaries cannot run here: check what the build promises about them. macOS:
// a valid ad-hoc signature over the finished file (Apple silicon kills a binary without one). Windows:
// Node's Authenticode signature gone (it no longer matches), a consistent PE, and WinSW carried.
const AGENT_TEXT = "The Tether agent: enrolls this machine with a control plane";
const FUSE_BLOWN = Buffer.from(`${SEA_FUSE}:1`);

describe("native agent binaries: macOS and Windows", () => {
  let paths: Record<string, string>;
  let files: Record<string, Buffer>;

  beforeAll(async () => {
    paths = await ensureBinaries(["darwin-arm64", "darwin-x64", "win-x64"]);
    files = Object.fromEntries(await Promise.all(Object.entries(paths).map(async ([t, p]) => [t, await readFile(p)] as const)));
  }, BUILD_TIMEOUT_MS);

  for (const [target, cputype] of [
    ["darwin-arm64", CPU_TYPE_ARM64],
    ["darwin-x64", CPU_TYPE_X86_64],
  ] as const) {
    it(`${target}: carries the agent in NODE_SEA and an ad-hoc signature whose hashes match every page`, async () => {
      const file = files[target]!;
      const macho = parseMachO(file);
      expect(macho.cputype).toBe(cputype);

      const sea = segment(macho, "NODE_SEA");
      expect(sea.sections.map((s) => s.name)).toEqual(["__NODE_SEA_BLOB"]);
      const blob = file.subarray(sea.sections[0]!.offset, sea.sections[0]!.offset + sea.sections[0]!.size);
      expect(blob.includes(AGENT_TEXT)).toBe(true);
      expect(file.includes(FUSE_BLOWN)).toBe(true);

      expect(verifySignature(file)).toEqual([]);
      const signature = readSignature(file, macho);
      // Only a CodeDirectory: Node's Developer ID signature (with its CMS blob) is gone.
      expect(signature.blobs.map((b) => b.type)).toEqual([CSSLOT_CODEDIRECTORY]);
      const cd = signature.codeDirectory;
      expect(cd.flags & CS_ADHOC).toBe(CS_ADHOC);
      expect(cd.hashType).toBe(CS_HASHTYPE_SHA256);
      expect(cd.pageSizeLog2).toBe(12);
      expect(cd.identifier).toBe("tether-agent");
      expect(cd.codeLimit).toBe(macho.codeSignature!.dataoff);
      const text = segment(macho, "__TEXT");
      expect([cd.execSegBase, cd.execSegLimit, cd.execSegFlags]).toEqual([BigInt(text.fileoff), BigInt(text.filesize), BigInt(CS_EXECSEG_MAIN_BINARY)]);
      // The signature ends the file, inside __LINKEDIT.
      const linkedit = segment(macho, "__LINKEDIT");
      expect(linkedit.fileoff + linkedit.filesize).toBe(file.length);
      expect(macho.codeSignature!.dataoff + macho.codeSignature!.datasize).toBe(file.length);

      // A second opinion on the structure: LLVM's Mach-O reader.
      const { stdout } = await execa("llvm-objdump", ["--macho", "--private-headers", paths[target]!]);
      expect(stdout).toContain("LC_CODE_SIGNATURE");
      expect(stdout).toContain("NODE_SEA");
    });
  }

  it("win-x64: no certificate table, a correct PE checksum, the agent and WinSW inside", async () => {
    const file = files["win-x64"]!;
    const pe = parsePe(file);
    expect(pe.machine).toBe(0x8664);
    expect(pe.certificateTable).toEqual({ offset: 0, size: 0 });
    expect(pe.checksum).toBe(peChecksum(file));
    expect(pe.sections.map((s) => s.name)).toContain(".rsrc");
    // postject stores the blob as an RCDATA resource named NODE_SEA_BLOB (UTF-16 in the resource directory).
    expect(file.includes(Buffer.from("NODE_SEA_BLOB", "utf16le"))).toBe(true);
    expect(file.includes(FUSE_BLOWN)).toBe(true);
    expect(file.includes(AGENT_TEXT)).toBe(true);
    // The WinSW asset: its key, and WinSW's own PE inside the blob.
    expect(file.includes("winsw.exe")).toBe(true);
    const winsw = await readFile("node_modules/node-windows/bin/winsw/winsw.exe");
    expect(file.includes(winsw)).toBe(true);
  });
});
