import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AgentTarget } from "../domain/downloads.js";

/**
 * Renders `installers/install.sh` and `installers/install.ps1` for one request. The templates are
 * complete scripts whose settings block holds empty values (`TETHER_URL=''`, `$TetherUrl = ''`); each
 * is filled in by its own line, quoted for its language, so no value can become code.
 */
export interface InstallScriptValues {
  /** The https:// origin the script downloads from. */
  baseUrl: string;
  /** PEM of the control plane's own CA; null with a publicly trusted certificate. */
  caPem: string | null;
  /** SHA-256 (hex) of each agent binary in the catalog. */
  sha256: Partial<Record<AgentTarget, string>>;
}

const TEMPLATES = new URL("../../../installers/", import.meta.url);

export class InstallScripts {
  private readonly sh = readTemplate("install.sh");
  private readonly ps1 = readTemplate("install.ps1");

  installSh(values: InstallScriptValues): string {
    const line = (name: string, value: string) => `${name}='${value.replaceAll("'", `'\\''`)}'`;
    return fill(this.sh, line, {
      TETHER_URL: values.baseUrl,
      TETHER_CA: values.caPem?.replaceAll("\r\n", "\n").trim() ?? "",
      TETHER_SHA256_LINUX_X64: values.sha256["linux-x64"] ?? "",
      TETHER_SHA256_LINUX_ARM64: values.sha256["linux-arm64"] ?? "",
      TETHER_SHA256_DARWIN_X64: values.sha256["darwin-x64"] ?? "",
      TETHER_SHA256_DARWIN_ARM64: values.sha256["darwin-arm64"] ?? "",
    });
  }

  installPs1(values: InstallScriptValues): string {
    const line = (name: string, value: string) => `$${name} = '${value.replaceAll("'", "''")}'`;
    return fill(this.ps1, line, {
      TetherUrl: values.baseUrl,
      // .NET Framework reads a certificate from DER; base64 keeps it on one line.
      TetherCa: values.caPem ? new X509Certificate(values.caPem).raw.toString("base64") : "",
      TetherSha256: values.sha256["win-x64"] ?? "",
    });
  }
}

function readTemplate(name: string): string {
  return readFileSync(new URL(name, TEMPLATES), "utf8").replaceAll("\r\n", "\n");
}

function fill(template: string, line: (name: string, value: string) => string, values: Record<string, string>): string {
  let text = template;
  for (const [name, value] of Object.entries(values)) {
    const empty = `\n${line(name, "")}\n`;
    const at = text.indexOf(empty);
    if (at === -1 || text.includes(empty, at + 1)) throw new Error(`the install script template must have the line ${empty.trim()} once`);
    text = text.slice(0, at) + `\n${line(name, value)}\n` + text.slice(at + empty.length);
  }
  return text;
}
