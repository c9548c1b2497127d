// npm lsbom 1.0.1 has no types: the entries of a Bom file (false when the data is not one).
declare module "lsbom" {
  export interface BomEntry {
    filename: string;
    mode: number;
    user: number;
    group: number;
    size?: number;
    checksum?: number;
    modtime?: number;
  }

  export default function lsbom(data: Buffer): BomEntry[] | false;
}
