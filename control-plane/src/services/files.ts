import { z } from "zod";
import type { RequestContext } from "../domain/actor.js";
import { AppError, NotFoundError, ValidationError } from "../errors.js";
import { newId } from "../ids.js";
import type { BlobStore } from "../store/blobs.js";
import type { StoredFile } from "../store/files.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";

export const FileInfoSchema = z
  .object({ id: z.string(), name: z.string(), size: z.number().int(), sha256: z.string(), createdAt: z.string(), createdBy: z.string().nullable() })
  .meta({ id: "File" });

/** Command attachments: uploaded once, referenced by id from commands, fetched by agents by hash. */
export class FileService {
  constructor(
    private readonly stores: Stores,
    private readonly blobs: BlobStore,
  ) {}

  upload(ctx: RequestContext, name: string, bytes: Buffer): StoredFile {
    if (!/^[^/\\\p{Cc}]{1,255}$/u.test(name)) throw ValidationError.field("name", "give the file a name (1–255 characters, no slashes)");
    const sha256 = this.blobs.put(bytes);
    return this.stores.transaction(() => {
      const file = this.stores.files.insert({ id: newId("file", ctx.now.getTime()), name, size: bytes.length, sha256, createdAt: ctx.now.toISOString(), createdBy: ctx.actor.id });
      audit(this.stores.events, ctx, { action: "file.uploaded", objectType: "file", objectId: file.id, details: { name, size: file.size, sha256 } });
      return file;
    });
  }

  list(): StoredFile[] {
    return this.stores.files.list();
  }

  get(id: string): StoredFile {
    const file = this.stores.files.get(id);
    if (!file) throw new NotFoundError("file", id);
    return file;
  }

  /** The path of the bytes with this hash, for an agent placing an attachment. */
  pathForAgent(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256) || !this.stores.files.bySha256(sha256) || !this.blobs.has(sha256)) {
      throw new AppError(404, "not_found", `no file with SHA-256 ${sha256}`);
    }
    return this.blobs.path(sha256);
  }
}
