import { createHash } from "node:crypto";

/**
 * Just enough of the Mach-O format (64-bit, little-endian, thin) to add, replace, remove and check an
 * embedded code signature. Layouts from Apple's <mach-o/loader.h> and the code-signing blobs from
 * xnu's osfmk/kern/cs_blobs.h; all code-signing structures are big-endian.
 */

export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_EXECUTE = 0x2;
export const LC_SEGMENT_64 = 0x19;
export const LC_CODE_SIGNATURE = 0x1d;
export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;
export const HEADER_SIZE = 32;
const FAT_MAGIC = 0xcafebabe;

export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSSLOT_CODEDIRECTORY = 0;
export const CS_ADHOC = 0x2;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_HASHTYPE_SHA256 = 2;
export const CS_EXECSEG_MAIN_BINARY = 0x1;
/** CodeDirectory version with the exec-segment fields (what ld64 and Go's linker write). */
export const CD_VERSION_EXECSEG = 0x20400;
export const CODE_DIRECTORY_HEADER_SIZE = 88;
export const SUPERBLOB_HEADER_SIZE = 12;
export const BLOB_INDEX_SIZE = 8;
export const CS_PAGE_SIZE_LOG2 = 12;
export const CS_PAGE_SIZE = 1 << CS_PAGE_SIZE_LOG2;

export interface Section {
  name: string;
  /** File offset (0 for zero-fill sections). */
  offset: number;
  size: number;
}

export interface Segment {
  name: string;
  /** Offset of the LC_SEGMENT_64 command in the file. */
  commandOffset: number;
  vmaddr: bigint;
  vmsize: bigint;
  fileoff: number;
  filesize: number;
  sections: Section[];
}

export interface LoadCommand {
  cmd: number;
  offset: number;
  size: number;
}

export interface MachO {
  cputype: number;
  filetype: number;
  ncmds: number;
  sizeofcmds: number;
  commands: LoadCommand[];
  segments: Segment[];
  /** The LC_CODE_SIGNATURE command, if any. */
  codeSignature?: { commandOffset: number; dataoff: number; datasize: number };
}

export function parseMachO(file: Buffer): MachO {
  if (file.length >= 4 && file.readUInt32BE(0) === FAT_MAGIC) throw new Error("universal (fat) Mach-O files are not supported: sign each architecture's file");
  if (file.length < HEADER_SIZE || file.readUInt32LE(0) !== MH_MAGIC_64) throw new Error("not a 64-bit little-endian Mach-O file");
  const macho: MachO = {
    cputype: file.readInt32LE(4),
    filetype: file.readUInt32LE(12),
    ncmds: file.readUInt32LE(16),
    sizeofcmds: file.readUInt32LE(20),
    commands: [],
    segments: [],
  };
  let offset = HEADER_SIZE;
  for (let i = 0; i < macho.ncmds; i++) {
    const cmd = file.readUInt32LE(offset);
    const size = file.readUInt32LE(offset + 4);
    if (size < 8 || offset + size > HEADER_SIZE + macho.sizeofcmds) throw new Error(`load command ${i} is malformed`);
    macho.commands.push({ cmd, offset, size });
    if (cmd === LC_SEGMENT_64) macho.segments.push(readSegment(file, offset));
    if (cmd === LC_CODE_SIGNATURE) macho.codeSignature = { commandOffset: offset, dataoff: file.readUInt32LE(offset + 8), datasize: file.readUInt32LE(offset + 12) };
    offset += size;
  }
  return macho;
}

function readSegment(file: Buffer, offset: number): Segment {
  const nsects = file.readUInt32LE(offset + 64);
  const sections: Section[] = [];
  for (let s = 0; s < nsects; s++) {
    const at = offset + 72 + s * 80;
    sections.push({ name: cString(file, at, 16), offset: file.readUInt32LE(at + 48), size: Number(file.readBigUInt64LE(at + 40)) });
  }
  return {
    name: cString(file, offset + 8, 16),
    commandOffset: offset,
    vmaddr: file.readBigUInt64LE(offset + 24),
    vmsize: file.readBigUInt64LE(offset + 32),
    fileoff: Number(file.readBigUInt64LE(offset + 40)),
    filesize: Number(file.readBigUInt64LE(offset + 48)),
    sections,
  };
}

function cString(file: Buffer, offset: number, max: number): string {
  const bytes = file.subarray(offset, offset + max);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? max : end).toString("latin1");
}

export function segment(macho: MachO, name: string): Segment {
  const found = macho.segments.find((s) => s.name === name);
  if (!found) throw new Error(`no ${name} segment`);
  return found;
}

/** Bytes free between the end of the load commands and the first section's contents. */
export function headerPadding(macho: MachO): number {
  const firstData = Math.min(...macho.segments.flatMap((s) => s.sections.filter((x) => x.offset > 0).map((x) => x.offset)));
  return firstData - (HEADER_SIZE + macho.sizeofcmds);
}

export function writeSegmentSizes(file: Buffer, seg: Segment, filesize: number, vmsize: bigint): void {
  file.writeBigUInt64LE(vmsize, seg.commandOffset + 32);
  file.writeBigUInt64LE(BigInt(filesize), seg.commandOffset + 48);
}

export interface CodeDirectory {
  version: number;
  flags: number;
  hashOffset: number;
  identOffset: number;
  nSpecialSlots: number;
  nCodeSlots: number;
  codeLimit: number;
  hashSize: number;
  hashType: number;
  pageSizeLog2: number;
  execSegBase: bigint;
  execSegLimit: bigint;
  execSegFlags: bigint;
  identifier: string;
  /** The code-slot hashes, one per page. */
  hashes: Buffer[];
  /** The CodeDirectory blob's own bytes. */
  bytes: Buffer;
}

export interface EmbeddedSignature {
  length: number;
  blobs: { type: number; offset: number; magic: number }[];
  codeDirectory: CodeDirectory;
}

/** Reads the SuperBlob that LC_CODE_SIGNATURE points at, and its CodeDirectory. */
export function readSignature(file: Buffer, macho: MachO = parseMachO(file)): EmbeddedSignature {
  if (!macho.codeSignature) throw new Error("no LC_CODE_SIGNATURE");
  const { dataoff, datasize } = macho.codeSignature;
  const sig = file.subarray(dataoff, dataoff + datasize);
  if (sig.length < SUPERBLOB_HEADER_SIZE || sig.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new Error("the signature is not an embedded-signature SuperBlob");
  const length = sig.readUInt32BE(4);
  const count = sig.readUInt32BE(8);
  const blobs = Array.from({ length: count }, (_, i) => {
    const type = sig.readUInt32BE(SUPERBLOB_HEADER_SIZE + i * BLOB_INDEX_SIZE);
    const offset = sig.readUInt32BE(SUPERBLOB_HEADER_SIZE + i * BLOB_INDEX_SIZE + 4);
    return { type, offset, magic: sig.readUInt32BE(offset) };
  });
  const cdEntry = blobs.find((b) => b.type === CSSLOT_CODEDIRECTORY);
  if (!cdEntry || cdEntry.magic !== CSMAGIC_CODEDIRECTORY) throw new Error("the signature has no CodeDirectory");
  const cd = sig.subarray(cdEntry.offset, cdEntry.offset + sig.readUInt32BE(cdEntry.offset + 4));
  const hashOffset = cd.readUInt32BE(16);
  const identOffset = cd.readUInt32BE(20);
  const nCodeSlots = cd.readUInt32BE(28);
  const hashSize = cd.readUInt8(36);
  return {
    length,
    blobs,
    codeDirectory: {
      version: cd.readUInt32BE(8),
      flags: cd.readUInt32BE(12),
      hashOffset,
      identOffset,
      nSpecialSlots: cd.readUInt32BE(24),
      nCodeSlots,
      codeLimit: cd.readUInt32BE(32),
      hashSize,
      hashType: cd.readUInt8(37),
      pageSizeLog2: cd.readUInt8(39),
      execSegBase: cd.readBigUInt64BE(64),
      execSegLimit: cd.readBigUInt64BE(72),
      execSegFlags: cd.readBigUInt64BE(80),
      identifier: cString(cd, identOffset, cd.length - identOffset),
      hashes: Array.from({ length: nCodeSlots }, (_, i) => cd.subarray(hashOffset + i * hashSize, hashOffset + (i + 1) * hashSize)),
      bytes: cd,
    },
  };
}

/** SHA-256 of each page of `file[0, codeLimit)`; the last page is hashed as far as it goes. */
export function pageHashes(file: Buffer, codeLimit: number, pageSize: number = CS_PAGE_SIZE): Buffer[] {
  const hashes: Buffer[] = [];
  for (let at = 0; at < codeLimit; at += pageSize) {
    hashes.push(createHash("sha256").update(file.subarray(at, Math.min(at + pageSize, codeLimit))).digest());
  }
  return hashes;
}

/**
 * Checks a signed file the way the kernel checks pages: the CodeDirectory covers the file up to the
 * signature, and every page hash matches. Returns the problems found (empty when the signature holds).
 */
export function verifySignature(file: Buffer): string[] {
  const macho = parseMachO(file);
  const problems: string[] = [];
  const signature = readSignature(file, macho);
  const cd = signature.codeDirectory;
  const { dataoff, datasize } = macho.codeSignature!;
  const linkedit = segment(macho, "__LINKEDIT");
  if (dataoff + datasize > linkedit.fileoff + linkedit.filesize) problems.push("the signature is not inside __LINKEDIT");
  if (BigInt(linkedit.filesize) > linkedit.vmsize) problems.push("__LINKEDIT's filesize is larger than its vmsize");
  if (signature.length > datasize) problems.push("the SuperBlob is longer than LC_CODE_SIGNATURE's datasize");
  if (cd.codeLimit !== dataoff) problems.push(`codeLimit ${cd.codeLimit} is not the signature's offset ${dataoff}`);
  if (cd.hashType !== CS_HASHTYPE_SHA256 || cd.hashSize !== 32) problems.push("the CodeDirectory does not use SHA-256");
  if (cd.pageSizeLog2 !== CS_PAGE_SIZE_LOG2) problems.push("the CodeDirectory does not use 4 KiB pages");
  const expected = pageHashes(file, cd.codeLimit, 1 << cd.pageSizeLog2);
  if (expected.length !== cd.nCodeSlots) problems.push(`${cd.nCodeSlots} code slots for ${expected.length} pages`);
  expected.forEach((hash, page) => {
    if (cd.hashes[page] && !hash.equals(cd.hashes[page])) problems.push(`page ${page} does not match its hash`);
  });
  return problems;
}
