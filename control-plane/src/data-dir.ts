import { existsSync } from "node:fs";
import { join } from "node:path";

/** Where a control plane keeps its state inside --data-dir. */
export interface DataPaths {
  root: string;
  database: string;
  pkiDir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The secret box's data key (services/secret-box.ts), made on first use. */
  dataKey: string;
  /** Uploaded command attachments, by SHA-256. */
  filesDir: string;
  /** Agent binaries and installers to serve, unless --downloads-dir says otherwise. */
  downloadsDir: string;
}

export function dataPaths(root: string): DataPaths {
  const pkiDir = join(root, "pki");
  return {
    root,
    database: join(root, "tether.db"),
    pkiDir,
    caCert: join(pkiDir, "ca.crt"),
    caKey: join(pkiDir, "ca.key"),
    serverCert: join(pkiDir, "server.crt"),
    serverKey: join(pkiDir, "server.key"),
    dataKey: join(pkiDir, "data.key"),
    filesDir: join(root, "files"),
    downloadsDir: join(root, "downloads"),
  };
}

/** The first file that marks the directory as initialised, if any. */
export function initialisedMarker(paths: DataPaths): string | undefined {
  return [paths.database, paths.caKey, paths.caCert].find((p) => existsSync(p));
}
