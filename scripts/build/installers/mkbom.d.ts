// npm mkbom 2.1.4 has no types: a readable stream of the Bom of every file under `path`.
declare module "mkbom" {
  import type { Readable } from "node:stream";

  export default function mkbom(path: string, options?: { uid?: number; gid?: number }): Readable;
}
