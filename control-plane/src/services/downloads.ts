import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { AGENT_TARGETS, agentBinaryName, CONNECT_KEY_PLACEHOLDER, type AgentTarget, type Download, type InstallCommands } from "../domain/downloads.js";
import { AppError } from "../errors.js";
import { curlPublicKeyPin, dotnetPublicKeyPin } from "../pki/public-key-pin.js";
import { DownloadCatalog, type CatalogFile } from "./download-catalog.js";
import { InstallScripts } from "./install-scripts.js";
import type { ServerTls } from "./ports.js";

export interface DownloadServiceDeps {
  /** The downloads directory (`agent/` and `installers/` inside); absent: nothing to download. */
  dir: string | undefined;
  /** Absent: the scripts and one-liners trust the system store, as with a publicly trusted certificate. */
  tls: ServerTls | undefined;
  publicUrl: () => string;
}

/** `host[:port]` as a Host header may carry it: a DNS name or an IP literal, nothing else. */
const HOST_HEADER = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/**
 * Agent downloads and the one-line installers: the catalog of the downloads directory, the install
 * scripts rendered for the address a machine reached, and the one-liners for admins.
 */
export class DownloadService {
  private readonly catalog: DownloadCatalog;
  private readonly scripts = new InstallScripts();
  private readonly certificate: X509Certificate | undefined;

  constructor(private readonly deps: DownloadServiceDeps) {
    this.catalog = new DownloadCatalog(deps.dir);
    this.certificate = deps.tls ? new X509Certificate(deps.tls.certificatePem) : undefined;
  }

  /** Hashes every file ahead of the first request; resolves to how many there are. */
  async warm(): Promise<number> {
    return (await this.catalog.list()).length;
  }

  async list(host: string | undefined): Promise<Download[]> {
    const base = this.baseUrl(host);
    return (await this.catalog.list()).map(({ name, size, sha256, target }) => ({
      name,
      size,
      sha256,
      url: `${base}/downloads/${name}`,
      ...(target ? { target } : {}),
    }));
  }

  async file(name: string): Promise<CatalogFile> {
    const file = await this.catalog.find(name);
    if (!file) throw new AppError(404, "not_found", `there is no download named "${name}"; GET /downloads lists them`);
    return file;
  }

  /** The catalog as `sha256sum -c` reads it. */
  async sha256sums(): Promise<string> {
    return (await this.catalog.list()).map((file) => `${file.sha256}  ${file.name}\n`).join("");
  }

  async installSh(host: string | undefined): Promise<string> {
    return this.scripts.installSh(await this.scriptValues(host));
  }

  async installPs1(host: string | undefined): Promise<string> {
    return this.scripts.installPs1(await this.scriptValues(host));
  }

  /**
   * The one-liners for the public URL. With the server's own CA, the machine has nothing to verify
   * the server with yet, so the command pins the server certificate's public key instead.
   */
  installCommands(): InstallCommands {
    const url = this.deps.publicUrl();
    const ownCa = Boolean(this.deps.tls?.caPem);
    const certificatePem = this.deps.tls?.certificatePem;
    const curlPin = ownCa && certificatePem ? curlPublicKeyPin(certificatePem) : null;
    const windowsPin = ownCa && certificatePem ? dotnetPublicKeyPin(certificatePem) : null;
    const fetch = `(New-Object Net.WebClient).DownloadString('${url}/install.ps1')`;
    return {
      url,
      linux: `curl -fsSL ${curlPin ? `--pinnedpubkey '${curlPin}' -k ` : ""}'${url}/install.sh' | sudo sh -s -- --connect-key ${CONNECT_KEY_PLACEHOLDER}`,
      windows: [
        "[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor 3072",
        ...(windowsPin
          ? [`[Net.ServicePointManager]::ServerCertificateValidationCallback = { [Convert]::ToBase64String([Security.Cryptography.SHA256]::Create().ComputeHash($args[1].GetPublicKey())) -ceq '${windowsPin}' }`]
          : []),
        `& ([scriptblock]::Create(${fetch})) -ConnectKey '${CONNECT_KEY_PLACEHOLDER}'`,
      ].join("; "),
      connectKeyPlaceholder: CONNECT_KEY_PLACEHOLDER,
      pinnedPublicKey: curlPin,
    };
  }

  /**
   * Where the scripts download from: the address this request came to (a machine that reached the
   * server there can reach it there again) when the server's certificate covers that name, so the
   * script can verify it; otherwise the public URL.
   */
  private baseUrl(host: string | undefined): string {
    const fallback = this.deps.publicUrl();
    if (!host || !HOST_HEADER.test(host) || !this.certificate) return fallback;
    let url: URL;
    try {
      url = new URL(`https://${host}`);
    } catch {
      return fallback;
    }
    const name = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const covered = isIP(name) ? this.certificate.checkIP(name) : this.certificate.checkHost(name);
    return covered === undefined ? fallback : url.origin;
  }

  private async scriptValues(host: string | undefined) {
    const files = await this.catalog.list();
    const sha256: Partial<Record<AgentTarget, string>> = {};
    for (const target of AGENT_TARGETS) {
      const file = files.find((f) => f.name === agentBinaryName(target));
      if (file) sha256[target] = file.sha256;
    }
    return { baseUrl: this.baseUrl(host), caPem: this.deps.tls?.caPem ?? null, sha256 };
  }
}
