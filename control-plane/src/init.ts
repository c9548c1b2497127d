import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { systemContext } from "./domain/actor.js";
import { dataPaths, initialisedMarker } from "./data-dir.js";
import { ConflictError } from "./errors.js";
import { createCa } from "./pki/ca.js";
import { issueServerCertificate } from "./pki/server-certificate.js";
import { ApiKeyService } from "./services/api-keys.js";
import { ConnectKeyService } from "./services/connect-keys.js";
import { openDatabase } from "./store/db.js";
import { createStores } from "./store/index.js";
import { SETTING } from "./settings.js";

export interface InitResult {
  adminApiKey: string;
  connectKey: string;
  caFingerprint: string;
  url: string;
}

/** The hosts the generated server certificate covers: the public URL's host plus loopback. */
export function certificateHosts(publicUrl: string): string[] {
  const host = new URL(publicUrl).hostname.replace(/^\[(.*)\]$/, "$1");
  return [...new Set([host, "localhost", "127.0.0.1", "::1"])];
}

/**
 * Creates a control plane's state: database, CA, server certificate, first admin key and a default
 * connect key. Everything is built in a staging directory and moved into place at the end, so a
 * failed init leaves nothing behind, and an initialised directory is refused without a change.
 */
export function initDataDir(root: string, publicUrl: string, now = new Date()): InitResult {
  const url = normalisePublicUrl(publicUrl);
  const paths = dataPaths(root);
  const marker = initialisedMarker(paths);
  if (marker) throw new ConflictError(`${root} is already initialised (found ${marker}); nothing was changed`);

  mkdirSync(root, { recursive: true, mode: 0o700 });
  const staging = join(root, `.init-${process.pid}-${now.getTime()}`);
  const staged = dataPaths(staging);
  mkdirSync(staged.pkiDir, { recursive: true, mode: 0o700 });
  try {
    const ca = createCa({ commonName: `Tether CA (${new URL(url).hostname})`, now });
    const server = issueServerCertificate(ca, { hosts: certificateHosts(url), now });
    writeSecret(staged.caKey, ca.keyPem);
    writeFileSync(staged.caCert, ca.certPem, { mode: 0o644 });
    writeSecret(staged.serverKey, server.keyPem);
    writeFileSync(staged.serverCert, server.certPem, { mode: 0o644 });

    const db = openDatabase(staged.database);
    let result: InitResult;
    try {
      const stores = createStores(db);
      stores.settings.set(SETTING.publicUrl, url);
      stores.settings.set(SETTING.initialisedAt, now.toISOString());
      const ctx = systemContext(now);
      const admin = new ApiKeyService(stores).create(ctx, { name: "initial admin", role: "admin" });
      const connect = new ConnectKeyService(stores, () => ({ publicUrl: url, caFingerprint: ca.fingerprint })).create(ctx, { name: "default" });
      result = { adminApiKey: admin.key, connectKey: connect.connectKey, caFingerprint: ca.fingerprint, url };
    } finally {
      db.close();
    }
    renameSync(staged.pkiDir, paths.pkiDir);
    renameSync(staged.database, paths.database);
    chmodSync(paths.database, 0o600);
    return result;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function normalisePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--public-url "${raw}" is not a URL; give the address agents will reach, e.g. https://tether.example.com:8443`);
  }
  if (url.protocol !== "https:") throw new Error(`--public-url must use https:// (got ${url.protocol}//)`);
  if (url.pathname !== "/" || url.search || url.hash) throw new Error("--public-url must be just scheme, host and port, without a path");
  return url.origin;
}
