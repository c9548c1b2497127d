import type { Response } from "express";
import { z } from "zod";
import { DownloadListSchema, InstallCommandsSchema } from "../../domain/downloads.js";
import { AppError } from "../../errors.js";
import type { CatalogFile } from "../../services/download-catalog.js";
import type { Services } from "../../services/index.js";
import { READERS, route } from "../route.js";

/**
 * Agent downloads and the install scripts are public: a machine being installed has no credentials
 * yet, and nothing here is secret. The one-liners are for admins.
 */
export function downloadRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/downloads",
      summary: "The agent binaries and installers this server offers, with their SHA-256",
      tag: "downloads",
      access: "public",
      response: DownloadListSchema,
      handle: async ({ req }) => ({ items: await s.downloads.list(req.get("host")) }),
    }),
    route({
      method: "get",
      path: "/downloads/SHA256SUMS",
      summary: "The SHA-256 of every download, as `sha256sum -c` reads them",
      tag: "downloads",
      access: "public",
      responseTypes: ["text/plain"],
      handle: async ({ res }) => {
        res.type("text/plain; charset=utf-8").send(await s.downloads.sha256sums());
      },
    }),
    route({
      method: "get",
      path: "/downloads/:name",
      summary: "One download (Range requests work); its SHA-256 is in X-Checksum-Sha256",
      tag: "downloads",
      access: "public",
      params: z.object({ name: z.string() }),
      responseTypes: ["application/octet-stream"],
      handle: async ({ params, res }) => sendDownload(res, await s.downloads.file(params.name)),
    }),
    route({
      method: "get",
      path: "/install.sh",
      summary: "The agent installer for Linux and macOS (POSIX sh), made for this server and its current downloads",
      tag: "downloads",
      access: "public",
      responseTypes: ["text/plain"],
      handle: async ({ req, res }) => sendScript(res, await s.downloads.installSh(req.get("host"))),
    }),
    route({
      method: "get",
      path: "/install.ps1",
      summary: "The agent installer for Windows (PowerShell 5.1), made for this server and its current downloads",
      tag: "downloads",
      access: "public",
      responseTypes: ["text/plain"],
      handle: async ({ req, res }) => sendScript(res, await s.downloads.installPs1(req.get("host"))),
    }),
    route({
      method: "get",
      path: "/api/v1/install-commands",
      summary: "The one-line commands that install the agent, with CONNECT_KEY standing for a connect key",
      tag: "downloads",
      access: READERS,
      response: InstallCommandsSchema,
      handle: () => s.downloads.installCommands(),
    }),
  ];
}

function sendScript(res: Response, script: string): void {
  // Made for this moment's downloads: a cached copy would expect hashes that may have changed.
  res.set("Cache-Control", "no-store").type("text/plain; charset=utf-8").send(script);
}

function sendDownload(res: Response, file: CatalogFile): Promise<void> {
  // The content's hash is the best strong ETag there is; send() answers If-None-Match and If-Range with it.
  res.set({ "X-Checksum-Sha256": file.sha256, ETag: `"${file.sha256}"` });
  res.attachment(file.name);
  return new Promise((resolve, reject) => {
    // The path is the file's real path, checked by the catalog: dotfiles in its parents are fine.
    res.sendFile(file.path, { dotfiles: "allow" }, (error?: Error & { status?: number; code?: string }) => {
      if (!error || res.headersSent) return resolve(); // done, or the client went away mid-file
      for (const header of ["X-Checksum-Sha256", "ETag", "Content-Disposition", "Content-Type"]) res.removeHeader(header);
      if (error.status === 404) return reject(new AppError(404, "not_found", `there is no download named "${file.name}"`));
      if (error.status === 416) return reject(new AppError(416, "range_not_satisfiable", `the requested range is not within the file's ${file.size} bytes`));
      if (error.status !== undefined && error.status >= 400 && error.status < 500) return reject(new AppError(error.status, "bad_request", error.message));
      reject(error);
    });
  });
}
