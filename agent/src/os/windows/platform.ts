import { win32 } from "node:path";
import type { MachineFingerprint } from "../../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../../executor/types.js";
import { winswExecutable } from "../../service/executable.js";
import { settingsFromRegistry } from "../../service/provisioning.js";
import type { CommandRunner, InstallLayout, PlatformDriver, Provisioning, ServiceManager } from "../types.js";
import { WindowsScriptHost } from "./exec.js";
import { WinswService } from "./service.js";
import { parseRegQueryValue } from "./reg-query.js";

// Well-known SIDs rather than names: "Administrators" is "Administradores" on a Spanish Windows.
const SYSTEM = "*S-1-5-18";
const ADMINISTRATORS = "*S-1-5-32-544";

/** Where the MSI writes CONNECT_KEY, DISPLAY_NAME, SERVER_URL and GROUPS (REG_SZ values). */
export const PROVISIONING_REGISTRY_KEY = "HKLM\\SOFTWARE\\Tether\\Agent";

export class WindowsPlatform implements PlatformDriver {
  readonly name = "windows";
  private readonly run: CommandRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly winsw: () => Promise<Buffer>;

  constructor(opts: { run: CommandRunner; env?: NodeJS.ProcessEnv; winsw?: () => Promise<Buffer> }) {
    this.run = opts.run;
    this.env = opts.env ?? process.env;
    this.winsw = opts.winsw ?? winswExecutable;
  }

  defaultStateDir(): string {
    return win32.join(this.env.PROGRAMDATA || "C:\\ProgramData", "Tether");
  }

  async restrictFile(path: string): Promise<void> {
    await this.icacls(path, "F");
  }

  async restrictDirectory(path: string): Promise<void> {
    // (OI)(CI): files and folders created inside inherit the same two grants and nothing else.
    await this.icacls(path, "(OI)(CI)F");
  }

  scriptHost(): ScriptHost {
    const systemRoot = this.env.SystemRoot || "C:\\Windows";
    return new WindowsScriptHost({ run: this.run, tempBase: win32.join(this.defaultStateDir(), "executions"), systemRoot });
  }

  /** The MSI installs the same files in the same places; `packaged` only says they are the MSI's. */
  installLayout(options: { packaged?: boolean } = {}): InstallLayout {
    const stateDir = this.defaultStateDir();
    const programDir = win32.join(this.env.ProgramFiles || "C:\\Program Files", "Tether");
    return {
      binary: win32.join(programDir, "tether-agent.exe"),
      configFile: win32.join(stateDir, "agent.json"),
      registryKey: PROVISIONING_REGISTRY_KEY,
      packageMarker: win32.join(programDir, "packaged"),
      stateDir,
      logDir: win32.join(stateDir, "logs"),
      ...(options.packaged ? { packaged: true } : {}),
    };
  }

  /**
   * The values the MSI writes from its public properties. HKLM\SOFTWARE is readable by every local user,
   * so `consume` deletes the connect key once agent.json (readable by SYSTEM and Administrators) has it.
   * A scratch root has no registry.
   */
  async readProvisioning(layout: InstallLayout, root?: string): Promise<Provisioning> {
    const key = layout.registryKey;
    const where = `the MSI's CONNECT_KEY property (${key ?? "registry"}\\ConnectKey)`;
    if (!key || root) return { settings: {}, where, consume: async () => {} };
    const { stdout, exitCode } = await this.run(this.system32("reg.exe"), ["query", key], { timeoutMs: 30_000 });
    // reg.exe exits 1 when the key does not exist: nothing was left.
    const out = exitCode === 0 ? stdout : "";
    const settings = settingsFromRegistry((name) => parseRegQueryValue(out, name)?.data);
    return {
      settings,
      where,
      consume: async () => {
        if (!settings.connectKey) return;
        const removed = await this.run(this.system32("reg.exe"), ["delete", key, "/v", "ConnectKey", "/f"], { timeoutMs: 30_000 });
        if (removed.exitCode !== 0) throw new Error(`reg delete ${key} /v ConnectKey exited with ${removed.exitCode}: ${(removed.stderr || removed.stdout).trim()}`);
      },
    };
  }

  serviceManager(layout: InstallLayout, root?: string): ServiceManager {
    return new WinswService({ run: this.run, layout, root, wrapper: this.winsw });
  }

  async machineFingerprint(): Promise<MachineFingerprint> {
    const [machineId, serial] = await Promise.all([this.machineGuid(), this.biosSerial()]);
    // os.networkInterfaces() cannot tell a Hyper-V, VPN or VirtualBox adapter from a NIC, so MACs are
    // left out rather than reported unstably; MachineGuid and the BIOS serial carry the identity.
    return { machineId, serial, macs: [] };
  }

  /** Removes inherited rights and grants full control to SYSTEM and Administrators only. */
  private async icacls(path: string, rights: string): Promise<void> {
    const args = [path, "/inheritance:r", "/grant:r", `${SYSTEM}:${rights}`, `${ADMINISTRATORS}:${rights}`];
    const { exitCode, stdout, stderr } = await this.run(this.system32("icacls.exe"), args, { timeoutMs: 30_000 });
    if (exitCode !== 0) {
      throw new Error(`icacls ${path} exited with ${exitCode}: ${(stderr || stdout).trim()}`);
    }
  }

  private async machineGuid(): Promise<string | undefined> {
    const out = await this.stdoutOf(this.system32("reg.exe"), [
      "query",
      "HKLM\\SOFTWARE\\Microsoft\\Cryptography",
      "/v",
      "MachineGuid",
    ]);
    return out === undefined ? undefined : parseRegQueryValue(out, "MachineGuid")?.data || undefined;
  }

  private async biosSerial(): Promise<string | undefined> {
    const out = await this.stdoutOf(this.system32("WindowsPowerShell\\v1.0\\powershell.exe"), [
      "-NoProfile",
      "-NonInteractive",
      "-Command",
      "(Get-CimInstance Win32_BIOS).SerialNumber",
    ]);
    return out?.trim() || undefined;
  }

  /** stdout of a successful run; undefined when the tool failed, since a fingerprint field may be absent. */
  private async stdoutOf(file: string, args: string[]): Promise<string | undefined> {
    try {
      const { stdout, exitCode } = await this.run(file, args, { timeoutMs: 30_000 });
      return exitCode === 0 ? stdout : undefined;
    } catch {
      return undefined;
    }
  }

  // Absolute paths: the agent runs as SYSTEM, and Windows looks in the current directory before PATH.
  private system32(tool: string): string {
    return win32.join(this.env.SystemRoot || "C:\\Windows", "System32", tool);
  }
}
