/**
 * Ad-hoc code signing of a Mach-O executable, written for the build because macOS on Apple silicon
 * kills unsigned binaries, postject drops Node's signature when it adds the SEA segment, and there is no
 * `codesign` (nor `ldid`) on Linux.
 *
 * The signature is what Apple's and Go's linkers write for an ad-hoc, linker-signed binary: an
 * LC_CODE_SIGNATURE load command pointing at a SuperBlob at the end of __LINKEDIT that holds one
 * CodeDirectory (version 0x20400, SHA-256 over 4 KiB pages, flags adhoc|linker-signed, the executable
 * segment described, an identifier). No requirements, entitlements or CMS blob: an ad-hoc signature has
 * no signer to name. "Linker-signed" also lets `codesign --sign` on a Mac replace it without `--force`
 * when a Developer ID signature is added for notarization (docs/packaging.md).
 *
 * Usage from a shell: `tsx scripts/build/macho-adhoc-sign.ts FILE [IDENTIFIER]` signs FILE in place.
 */
import { readFile, writeFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BLOB_INDEX_SIZE,
  CD_VERSION_EXECSEG,
  CODE_DIRECTORY_HEADER_SIZE,
  CPU_TYPE_ARM64,
  CS_ADHOC,
  CS_EXECSEG_MAIN_BINARY,
  CS_HASHTYPE_SHA256,
  CS_LINKER_SIGNED,
  CS_PAGE_SIZE,
  CS_PAGE_SIZE_LOG2,
  CSMAGIC_CODEDIRECTORY,
  CSMAGIC_EMBEDDED_SIGNATURE,
  CSSLOT_CODEDIRECTORY,
  HEADER_SIZE,
  LC_CODE_SIGNATURE,
  MH_EXECUTE,
  pageHashes,
  parseMachO,
  segment,
  headerPadding,
  SUPERBLOB_HEADER_SIZE,
  writeSegmentSizes,
  type MachO,
} from "./macho.js";

const HASH_SIZE = 32;
const LC_CODE_SIGNATURE_SIZE = 16;

/** Bytes the SuperBlob takes for `codeSize` bytes of code and this identifier. */
export function signatureSize(codeSize: number, identifier: string): number {
  const pages = Math.ceil(codeSize / CS_PAGE_SIZE);
  return SUPERBLOB_HEADER_SIZE + BLOB_INDEX_SIZE + CODE_DIRECTORY_HEADER_SIZE + Buffer.byteLength(identifier) + 1 + pages * HASH_SIZE;
}

/**
 * Returns `file` with an ad-hoc signature. An existing signature (Node's Developer ID one, or an earlier
 * ad-hoc one) is replaced in place; otherwise an LC_CODE_SIGNATURE command goes into the header's free
 * space and __LINKEDIT grows to hold the signature (its vmsize too, rounded to the CPU's page size,
 * when the signature no longer fits in it).
 */
export function adhocSign(file: Buffer, identifier: string): Buffer {
  if (!identifier || identifier.includes("\0")) throw new Error("the identifier must be a non-empty string without NUL");
  const macho = parseMachO(file);
  const linkedit = lastSegment(macho, file.length);
  const codeEnd = macho.codeSignature ? macho.codeSignature.dataoff : align(linkedit.fileoff + linkedit.filesize, 16);
  if (macho.codeSignature && macho.codeSignature.dataoff < linkedit.fileoff) throw new Error("the existing signature is not inside __LINKEDIT");
  if (!macho.codeSignature && headerPadding(macho) < LC_CODE_SIGNATURE_SIZE) throw new Error("no room in the Mach-O header for LC_CODE_SIGNATURE");

  const size = signatureSize(codeEnd, identifier);
  const out = Buffer.alloc(codeEnd + size);
  file.copy(out, 0, 0, Math.min(file.length, codeEnd));

  const commandOffset = macho.codeSignature?.commandOffset ?? HEADER_SIZE + macho.sizeofcmds;
  if (!macho.codeSignature) {
    out.writeUInt32LE(macho.ncmds + 1, 16);
    out.writeUInt32LE(macho.sizeofcmds + LC_CODE_SIGNATURE_SIZE, 20);
  }
  out.writeUInt32LE(LC_CODE_SIGNATURE, commandOffset);
  out.writeUInt32LE(LC_CODE_SIGNATURE_SIZE, commandOffset + 4);
  out.writeUInt32LE(codeEnd, commandOffset + 8);
  out.writeUInt32LE(size, commandOffset + 12);

  const filesize = codeEnd + size - linkedit.fileoff;
  const vmsize = BigInt(filesize) <= linkedit.vmsize ? linkedit.vmsize : BigInt(align(filesize, macho.cputype === CPU_TYPE_ARM64 ? 0x4000 : 0x1000));
  writeSegmentSizes(out, linkedit, filesize, vmsize);

  // Everything the hashes cover is final now: the header above and the code up to the signature.
  const text = segment(macho, "__TEXT");
  writeSuperBlob(out, codeEnd, {
    identifier,
    hashes: pageHashes(out, codeEnd),
    execSegBase: BigInt(text.fileoff),
    execSegLimit: BigInt(text.filesize),
    execSegFlags: macho.filetype === MH_EXECUTE ? BigInt(CS_EXECSEG_MAIN_BINARY) : 0n,
  });
  return out;
}

/**
 * Returns `file` without its code signature: the load command goes (later commands move up), the file
 * ends where the signature began, and __LINKEDIT's filesize shrinks to match (its vmsize is left alone).
 */
export function removeSignature(file: Buffer): Buffer {
  const macho = parseMachO(file);
  if (!macho.codeSignature) return Buffer.from(file);
  const linkedit = lastSegment(macho, file.length);
  const { commandOffset, dataoff } = macho.codeSignature;
  const out = Buffer.from(file.subarray(0, dataoff));
  const commandsEnd = HEADER_SIZE + macho.sizeofcmds;
  out.copy(out, commandOffset, commandOffset + LC_CODE_SIGNATURE_SIZE, commandsEnd);
  out.fill(0, commandsEnd - LC_CODE_SIGNATURE_SIZE, commandsEnd);
  out.writeUInt32LE(macho.ncmds - 1, 16);
  out.writeUInt32LE(macho.sizeofcmds - LC_CODE_SIGNATURE_SIZE, 20);
  // The moved commands change offsets: find __LINKEDIT again.
  const moved = linkedit.commandOffset > commandOffset ? { ...linkedit, commandOffset: linkedit.commandOffset - LC_CODE_SIGNATURE_SIZE } : linkedit;
  writeSegmentSizes(out, moved, dataoff - linkedit.fileoff, linkedit.vmsize);
  return out;
}

interface CodeDirectoryInput {
  identifier: string;
  hashes: Buffer[];
  execSegBase: bigint;
  execSegLimit: bigint;
  execSegFlags: bigint;
}

function writeSuperBlob(out: Buffer, at: number, cd: CodeDirectoryInput): void {
  const cdOffset = SUPERBLOB_HEADER_SIZE + BLOB_INDEX_SIZE;
  const identOffset = CODE_DIRECTORY_HEADER_SIZE;
  const hashOffset = identOffset + Buffer.byteLength(cd.identifier) + 1;
  const cdLength = hashOffset + cd.hashes.length * HASH_SIZE;
  const codeLimit = at;

  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, at);
  out.writeUInt32BE(cdOffset + cdLength, at + 4);
  out.writeUInt32BE(1, at + 8);
  out.writeUInt32BE(CSSLOT_CODEDIRECTORY, at + 12);
  out.writeUInt32BE(cdOffset, at + 16);

  const c = at + cdOffset;
  out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, c);
  out.writeUInt32BE(cdLength, c + 4);
  out.writeUInt32BE(CD_VERSION_EXECSEG, c + 8);
  out.writeUInt32BE(CS_ADHOC | CS_LINKER_SIGNED, c + 12);
  out.writeUInt32BE(hashOffset, c + 16);
  out.writeUInt32BE(identOffset, c + 20);
  out.writeUInt32BE(0, c + 24); // nSpecialSlots: no Info.plist, requirements or entitlements
  out.writeUInt32BE(cd.hashes.length, c + 28);
  out.writeUInt32BE(codeLimit, c + 32);
  out.writeUInt8(HASH_SIZE, c + 36);
  out.writeUInt8(CS_HASHTYPE_SHA256, c + 37);
  out.writeUInt8(0, c + 38); // platform
  out.writeUInt8(CS_PAGE_SIZE_LOG2, c + 39);
  // 40 spare2, 44 scatterOffset, 48 teamOffset, 52 spare3, 56 codeLimit64: all zero (Buffer.alloc).
  out.writeBigUInt64BE(cd.execSegBase, c + 64);
  out.writeBigUInt64BE(cd.execSegLimit, c + 72);
  out.writeBigUInt64BE(cd.execSegFlags, c + 80);
  out.write(cd.identifier + "\0", c + identOffset, "utf8");
  cd.hashes.forEach((hash, i) => hash.copy(out, c + hashOffset + i * HASH_SIZE));
}

/** __LINKEDIT, which must be the last thing in the file for the signature to go at its end. */
function lastSegment(macho: MachO, fileLength: number) {
  const linkedit = segment(macho, "__LINKEDIT");
  const end = linkedit.fileoff + linkedit.filesize;
  if (macho.segments.some((s) => s !== linkedit && s.filesize > 0 && s.fileoff >= linkedit.fileoff)) throw new Error("__LINKEDIT is not the last segment");
  if (end !== fileLength) throw new Error(`__LINKEDIT ends at ${end}, not at the end of the file (${fileLength} bytes)`);
  return linkedit;
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export async function signFile(path: string, identifier: string): Promise<void> {
  await writeFile(path, adhocSign(await readFile(path), identifier));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, identifier] = process.argv.slice(2);
  if (!file) {
    console.error("usage: tsx scripts/build/macho-adhoc-sign.ts FILE [IDENTIFIER]");
    process.exitCode = 2;
  } else {
    await signFile(file, identifier ?? basename(file));
  }
}
