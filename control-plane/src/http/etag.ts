import type { Request, Response } from "express";
import { ValidationError } from "../errors.js";

/**
 * Optimistic concurrency over HTTP (RFC 9110 §8.8.3, §13.1.1): a resource's version is its ETag,
 * `"<version>"`, and a write with `If-Match` goes through only while the resource is still at one of
 * the versions named.
 */

export function setEtag(res: Response, version: number): void {
  res.setHeader("ETag", `"${version}"`);
}

/**
 * The versions If-Match accepts; undefined when there is no header or it is `*` (any version: the
 * resource exists, which the route checks anyway). Weak tags never match a write (strong comparison),
 * so `W/"3"` alone yields no version and the write fails with 412.
 */
export function ifMatchVersions(req: Request): number[] | undefined {
  const header = req.header("if-match");
  if (header === undefined || header.trim() === "*") return undefined;
  const versions: number[] = [];
  for (const tag of header.split(",").map((t) => t.trim())) {
    const strong = /^"(\d{1,15})"$/.exec(tag);
    if (strong) versions.push(Number(strong[1]));
    else if (!/^(W\/)?"[^"]*"$/.test(tag)) {
      throw ValidationError.field("If-Match", `"${tag}" is not an entity tag; send the ETag from a GET or PATCH response, quotes included, e.g. If-Match: "3"`);
    }
  }
  return versions;
}
