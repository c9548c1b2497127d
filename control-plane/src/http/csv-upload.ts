import { Busboy, type BusboyHeaders, type BusboyInstance } from "@fastify/busboy";
import express, { type Request, type Response } from "express";
import { AppError, PayloadTooLargeError, ValidationError } from "../errors.js";

/** Content types a CSV upload may come as: the file itself, or one file of an HTML form. */
export const CSV_UPLOAD_TYPES = ["text/csv", "multipart/form-data"] as const;
/** Also taken as the raw file: what some tools send for .csv (Excel's own type; plain text). */
const RAW_TYPES = ["text/csv", "application/csv", "application/vnd.ms-excel", "text/plain"];

export interface UploadLimit {
  bytes: number;
  /** As configured ("20mb"), for the 413's message. */
  text: string;
}

/**
 * The text of a CSV upload: the body itself (`text/csv`), or the one file of a `multipart/form-data`
 * form (parsed with @fastify/busboy, streaming, so the limit holds while the bytes arrive). Call it
 * from the handler, i.e. after authorization. Past `limit` bytes: 413. Not UTF-8: 400.
 */
export async function readCsvUpload(req: Request, res: Response, limit: UploadLimit): Promise<string> {
  const charset = /;\s*charset="?([^";]+)/i.exec(req.headers["content-type"] ?? "")?.[1]?.toLowerCase();
  if (charset && charset !== "utf-8" && charset !== "utf8" && charset !== "us-ascii") throw notUtf8(`it is sent as ${charset}`, 415);
  let bytes: Buffer;
  if (req.is("multipart/form-data")) bytes = await readMultipartFile(req, limit);
  else if (req.is(RAW_TYPES)) bytes = await readRaw(req, res, limit);
  else throw new AppError(415, "unsupported_media_type", "send the CSV file as the body with Content-Type: text/csv, or as the one file of a multipart/form-data form");
  return decodeUtf8(bytes);
}

function readRaw(req: Request, res: Response, limit: UploadLimit): Promise<Buffer> {
  const parser = express.raw({ type: () => true, limit: limit.bytes });
  return new Promise((resolve, reject) =>
    parser(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === "entity.too.large") reject(new PayloadTooLargeError(limit.text));
      else if (error) reject(new AppError(400, "bad_request", "the file could not be read"));
      else resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    }),
  );
}

function readMultipartFile(req: Request, limit: UploadLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let form: BusboyInstance;
    try {
      form = Busboy({ headers: req.headers as BusboyHeaders, limits: { files: 1, fileSize: limit.bytes, fieldSize: 1024 } });
    } catch {
      reject(new ValidationError("the multipart form has no boundary: let your HTTP client build the form", [{ field: "body", reason: "no boundary" }]));
      return;
    }
    const chunks: Buffer[] = [];
    let files = 0;
    let settled = false;
    const fail = (error: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(form);
      // Read the rest of the upload and drop it, so the client gets to see the answer.
      req.resume();
      reject(error);
    };
    form.on("file", (_field, stream) => {
      files++;
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(new PayloadTooLargeError(limit.text)));
    });
    form.on("field", (name) => fail(new ValidationError(`unexpected form field "${name}": send only the file; options such as dryRun and mode go in the query string`, [{ field: name, reason: "unexpected" }])));
    form.on("filesLimit", () => fail(new ValidationError("the form has more than one file: send one CSV file per import", [{ field: "file", reason: "more than one" }])));
    form.on("error", () => fail(new ValidationError("the multipart form could not be read", [{ field: "body", reason: "malformed" }])));
    form.on("finish", () => {
      if (files === 0) return fail(new ValidationError("the form has no file: attach the CSV file as a file field", [{ field: "file", reason: "missing" }]));
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.pipe(form);
  });
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Buffer): string {
  if (bytes[0] === 0xff || bytes[0] === 0xfe) throw notUtf8("it is UTF-16");
  try {
    return UTF8.decode(bytes);
  } catch {
    throw notUtf8("it has bytes that are not UTF-8");
  }
}

function notUtf8(why: string, status = 400): AppError {
  return new AppError(status, "not_utf8", `the file must be UTF-8 text, and ${why}: in Excel, save it as "CSV UTF-8 (Comma delimited)"`);
}
