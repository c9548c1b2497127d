import type { Db } from "./db.js";

export interface StoredFile {
  id: string;
  name: string;
  size: number;
  sha256: string;
  createdAt: string;
  createdBy: string | null;
}

interface Row {
  id: string;
  name: string;
  size: number;
  sha256: string;
  created_at: string;
  created_by: string | null;
}

const toFile = (r: Row): StoredFile => ({ id: r.id, name: r.name, size: r.size, sha256: r.sha256, createdAt: r.created_at, createdBy: r.created_by });

/** Metadata of uploaded attachments; their bytes live content-addressed on disk (FileBlobs). */
export class FileStore {
  constructor(private readonly db: Db) {}

  insert(file: StoredFile): StoredFile {
    this.db
      .prepare("INSERT INTO files (id, name, size, sha256, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)")
      .run(file.id, file.name, file.size, file.sha256, file.createdAt, file.createdBy);
    return file;
  }

  get(id: string): StoredFile | undefined {
    const row = this.db.prepare("SELECT * FROM files WHERE id = ?").get(id) as Row | undefined;
    return row && toFile(row);
  }

  bySha256(sha256: string): StoredFile | undefined {
    const row = this.db.prepare("SELECT * FROM files WHERE sha256 = ? LIMIT 1").get(sha256) as Row | undefined;
    return row && toFile(row);
  }

  list(): StoredFile[] {
    return (this.db.prepare("SELECT * FROM files ORDER BY id").all() as Row[]).map(toFile);
  }
}
