/**
 * Just enough of the PE/COFF format (PE32+) to check a Windows binary after injection: its sections, the
 * certificate table (Authenticode) entry, and the optional header's checksum, which postject leaves stale
 * and which is set again here so that tools (and signers) see a consistent file.
 */

const PE32_PLUS = 0x20b;
const IMAGE_DIRECTORY_ENTRY_SECURITY = 4;

export interface PeFile {
  machine: number;
  /** Offset of the optional header's CheckSum field. */
  checksumOffset: number;
  checksum: number;
  /** The certificate table data directory: a file offset and size (0, 0 when unsigned). */
  certificateTable: { offset: number; size: number };
  sections: { name: string; virtualSize: number; rawSize: number; rawOffset: number }[];
}

export function parsePe(file: Buffer): PeFile {
  if (file.length < 0x40 || file.toString("latin1", 0, 2) !== "MZ") throw new Error("not a PE file (no MZ header)");
  const pe = file.readUInt32LE(0x3c);
  if (file.toString("latin1", pe, pe + 4) !== "PE\0\0") throw new Error("not a PE file (no PE signature)");
  const coff = pe + 4;
  const sectionCount = file.readUInt16LE(coff + 2);
  const optionalSize = file.readUInt16LE(coff + 16);
  const optional = coff + 20;
  if (file.readUInt16LE(optional) !== PE32_PLUS) throw new Error("not a PE32+ (64-bit) image");
  const directoryCount = file.readUInt32LE(optional + 108);
  const security = optional + 112 + IMAGE_DIRECTORY_ENTRY_SECURITY * 8;
  const sectionTable = optional + optionalSize;
  return {
    machine: file.readUInt16LE(coff),
    checksumOffset: optional + 64,
    checksum: file.readUInt32LE(optional + 64),
    certificateTable: directoryCount > IMAGE_DIRECTORY_ENTRY_SECURITY ? { offset: file.readUInt32LE(security), size: file.readUInt32LE(security + 4) } : { offset: 0, size: 0 },
    sections: Array.from({ length: sectionCount }, (_, i) => {
      const at = sectionTable + i * 40;
      const raw = file.subarray(at, at + 8);
      const end = raw.indexOf(0);
      return {
        name: raw.subarray(0, end < 0 ? 8 : end).toString("latin1"),
        virtualSize: file.readUInt32LE(at + 8),
        rawSize: file.readUInt32LE(at + 16),
        rawOffset: file.readUInt32LE(at + 20),
      };
    }),
  };
}

/** The PE image checksum (the algorithm of imagehlp's CheckSumMappedFile). */
export function peChecksum(file: Buffer, checksumOffset: number = parsePe(file).checksumOffset): number {
  let sum = 0;
  const even = file.length & ~1;
  for (let at = 0; at < even; at += 2) {
    if (at === checksumOffset || at === checksumOffset + 2) continue;
    sum += file.readUInt16LE(at);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (file.length & 1) {
    sum += file[file.length - 1]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ((sum & 0xffff) + (sum >>> 16) + file.length) >>> 0;
}

/** Writes the correct checksum into the file (in place). */
export function fixPeChecksum(file: Buffer): void {
  const { checksumOffset } = parsePe(file);
  file.writeUInt32LE(peChecksum(file, checksumOffset), checksumOffset);
}
