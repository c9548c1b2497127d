import { win32 } from "node:path";
import type { MachineFingerprint } from "../../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../../executor/types.js";
import { winswExecutable } from "../../service/executable.js";
import type { CommandRunner, InstallLayout, PlatformDriver, ServiceManager } from "../types.js";
import { WindowsScriptHost } from "./exec.js";
import { WinswService } from "./service.js";
import { parseRegQueryValue } from "./reg-query.js";

// Well-known SIDs rather than names: "Administrators" is "Administradores" on a Spanish Windows.
const SYSTEM = "*S-1-5-18";
const ADMINISTRATORS = "*S-1-5-32-544";

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

  installLayout(): InstallLayout {
    const stateDir = this.defaultStateDir();
    return {
      binary: win32.join(this.env.ProgramFiles || "C:\\Program Files", "Tether", "tether-agent.exe"),
      configFile: win32.join(stateDir, "agent.json"),
      stateDir,
      logDir: win32.join(stateDir, "logs"),
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
