// The MSI (npm run build:installers -- --kind msi), built with wixl from the real win-x64 binary and read
// back with msitools: its tables say what Windows Installer will do (files, service, registry values,
// the custom action and its place in the sequence, upgrades), and msiextract gives back the files.
// Windows Installer itself cannot run here (no Wine): docs/packaging.md lists what is untested.
import { readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WINSW_EXE_CONFIG } from "../../agent/src/os/windows/service-xml.js";
import { sha256File } from "../../scripts/build/agent-binary.js";
import { UPGRADE_CODE } from "../../scripts/build/installers/msi.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, PACKAGE_VERSION } from "./binaries.js";
import { BUILD_SCRIPT, buildInstallers, tableRows, tempDirs, verifyChecksums } from "./installers.js";

const temp = tempDirs();

const WINSW = join(REPO_ROOT, "node_modules/node-windows/bin/winsw/winsw.exe");
const SERVICE_XML = join(REPO_ROOT, "installers/windows/winsw/tether-agent-service.xml");

describe("MSI", () => {
  afterAll(() => temp.removeAll());
  let binary: string;
  let out: string;
  let msi: string;
  const table = async (name: string) => tableRows((await execa("msiinfo", ["export", msi, name])).stdout);

  beforeAll(async () => {
    binary = (await ensureBinaries(["win-x64"]))["win-x64"]!;
    out = await temp.make("tether-installers-msi-");
    await buildInstallers(out, ["--kind", "msi"]);
    msi = join(out, `tether-agent-${PACKAGE_VERSION}-x64.msi`);
  }, BUILD_TIMEOUT_MS);

  it("installs the agent, WinSW with its XML and .exe.config, and the package marker into Program Files\\Tether", async () => {
    const tables = (await execa("msiinfo", ["tables", msi])).stdout.split("\n");
    for (const name of ["File", "Component", "Directory", "ServiceInstall", "ServiceControl", "Registry", "CustomAction", "InstallExecuteSequence", "Upgrade", "Property"]) {
      expect(tables).toContain(name);
    }
    const files = Object.fromEntries((await table("File")).map(([id, component, name]) => [name!, { id, component }] as const));
    expect(Object.keys(files).sort()).toEqual(["packaged", "tether-agent-service.exe", "tether-agent-service.exe.config", "tether-agent-service.xml", "tether-agent.exe"]);
    const directories = Object.fromEntries((await table("Directory")).map(([id, parent, name]) => [id!, { parent, name }] as const));
    const components = Object.fromEntries((await table("Component")).map(([id, guid, directory, attributes]) => [id!, { guid, directory, attributes: Number(attributes) }] as const));
    for (const { component } of Object.values(files)) {
      const { directory, attributes } = components[component!]!;
      expect(directories[directory!]).toEqual({ parent: "ProgramFiles64Folder", name: "Tether" });
      expect(attributes & 256, "64-bit component").toBe(256);
    }

    const extracted = await temp.make();
    await execa("msiextract", ["-C", extracted, msi]);
    const dir = join(extracted, "Tether");
    expect(await sha256File(join(dir, "tether-agent.exe"))).toBe(await sha256File(binary));
    expect(await sha256File(join(dir, "tether-agent-service.exe"))).toBe(await sha256File(WINSW));
    expect(await readFile(join(dir, "tether-agent-service.xml"), "utf8")).toBe(await readFile(SERVICE_XML, "utf8"));
    expect(await readFile(join(dir, "tether-agent-service.exe.config"), "utf8")).toBe(WINSW_EXE_CONFIG);
    expect(await readFile(join(dir, "packaged"), "utf8")).toBe("msi\n");
  });

  it("registers WinSW as the tether-agent service (auto start, LocalSystem), started on install and removed on uninstall", async () => {
    const [service] = await table("ServiceInstall");
    const [, name, displayName, type, start, errorControl, , , account, , , component] = service!;
    expect({ name, displayName, type, start, errorControl, account }).toEqual({
      // The names in WinSW's XML, which the agent's own `install` uses too.
      name: "tether-agent",
      displayName: "Tether agent",
      type: "16", // own process
      start: "2", // automatic
      errorControl: "1", // normal
      account: "LocalSystem",
    });
    // Windows Installer registers the component's key file as the service's executable.
    const keyFile = (await table("Component")).find(([id]) => id === component)?.[5];
    expect((await table("File")).find(([id]) => id === keyFile)?.[2]).toBe("tether-agent-service.exe");

    const [control] = await table("ServiceControl");
    const [, controlName, event, , wait] = control!;
    expect(controlName).toBe("tether-agent");
    // 1 start on install, 2 stop on install, 32 stop on uninstall, 128 delete on uninstall.
    expect(Number(event)).toBe(1 | 2 | 32 | 128);
    expect(wait).toBe("1");
  });

  it("writes CONNECT_KEY, SERVER_URL, DISPLAY_NAME and GROUPS to HKLM\\SOFTWARE\\Tether\\Agent, and hides the key from the log", async () => {
    const values = Object.fromEntries((await table("Registry")).map(([, root, key, name, value, component]) => [name!, { root, key, value, component }] as const));
    expect(values).toEqual({
      ConnectKey: expect.objectContaining({ root: "2", key: "SOFTWARE\\Tether\\Agent", value: "[CONNECT_KEY]" }),
      ServerUrl: expect.objectContaining({ root: "2", key: "SOFTWARE\\Tether\\Agent", value: "[SERVER_URL]" }),
      DisplayName: expect.objectContaining({ root: "2", key: "SOFTWARE\\Tether\\Agent", value: "[DISPLAY_NAME]" }),
      Groups: expect.objectContaining({ root: "2", key: "SOFTWARE\\Tether\\Agent", value: "[GROUPS]" }),
    });
    const components = Object.fromEntries((await table("Component")).map(([id, , , attributes]) => [id!, Number(attributes)] as const));
    // 64-bit (256), so the values land in the 64-bit view the agent reads; the value is the key path (4).
    for (const { component } of Object.values(values)) expect(components[component!]).toBe(256 | 4);

    const properties = Object.fromEntries((await table("Property")).map(([name, value]) => [name!, value] as const));
    expect(properties.MsiHiddenProperties?.split(";")).toContain("CONNECT_KEY");
  });

  it("runs the installed agent as LocalSystem after the files and registry values, before the service starts, except on removal", async () => {
    const [action] = await table("CustomAction");
    const [id, type, source, target] = action!;
    // 18 = run an installed file, 1024 = deferred, 2048 = not impersonated (LocalSystem); no 64: the exit status counts.
    expect(Number(type)).toBe(18 | 1024 | 2048);
    expect(source).toBe("tether_agent_exe");
    // The key stays in the registry: nothing secret on a command line.
    expect(target).toBe("install --packaged --no-start");
    const files = await table("File");
    expect(files.find(([fileId]) => fileId === source)?.[2]).toBe("tether-agent.exe");

    const sequence = Object.fromEntries((await table("InstallExecuteSequence")).map(([name, condition, order]) => [name!, { condition, order: Number(order) }] as const));
    const at = (name: string) => sequence[name]!.order;
    expect(sequence[id!]!.condition).toBe("NOT REMOVE");
    expect(at(id!)).toBeGreaterThan(at("InstallFiles"));
    expect(at(id!)).toBeGreaterThan(at("WriteRegistryValues"));
    expect(at(id!)).toBeLessThan(at("StartServices"));
    expect(at(id!)).toBeLessThan(at("InstallFinalize"));
    // A major upgrade removes the old version first, so the new files are never compared by version.
    expect(at("RemoveExistingProducts")).toBeGreaterThan(at("InstallValidate"));
    expect(at("RemoveExistingProducts")).toBeLessThan(at("InstallInitialize"));
  });

  it("is a major upgrade of every earlier version with the fixed UpgradeCode, and refuses a downgrade", async () => {
    const properties = Object.fromEntries((await table("Property")).map(([name, value]) => [name!, value] as const));
    expect(properties.UpgradeCode).toBe(`{${UPGRADE_CODE}}`);
    expect(properties.ProductVersion).toBe(PACKAGE_VERSION);
    expect(properties.ProductCode).toMatch(/^\{[0-9A-F-]{36}\}$/);
    expect(properties.Manufacturer).toBe("Tether");
    expect(properties.ALLUSERS).toBe("1");

    const upgrades = (await table("Upgrade")).map(([code, min, max, , attributes, , property]) => ({ code, min, max, attributes: Number(attributes), property }));
    expect(upgrades).toContainEqual({ code: `{${UPGRADE_CODE}}`, min: "", max: PACKAGE_VERSION, attributes: 1, property: "WIX_UPGRADE_DETECTED" });
    expect(upgrades).toContainEqual(expect.objectContaining({ code: `{${UPGRADE_CODE}}`, min: PACKAGE_VERSION, property: "WIX_DOWNGRADE_DETECTED" }));
    const summary = (await execa("msiinfo", ["suminfo", msi])).stdout;
    expect(summary).toMatch(/^Template: x64;1033$/m);
  });

  it("lists the MSI in SHA256SUMS, which verifies", async () => {
    expect(await readFile(join(out, "SHA256SUMS"), "utf8")).toContain(`  tether-agent-${PACKAGE_VERSION}-x64.msi\n`);
    expect(await verifyChecksums(out)).toMatch(/: OK$/m);
  });

  it("names the Debian package to install when a tool is missing", async () => {
    // A PATH with node and nothing else: no wixl, no sh.
    const bin = await temp.make();
    await symlink(process.execPath, join(bin, "node"));
    const result = await execa(process.execPath, ["--import", "tsx", BUILD_SCRIPT, "--kind", "msi", "--out", await temp.make()], {
      cwd: REPO_ROOT,
      env: { PATH: bin },
      extendEnv: false,
      reject: false,
      all: true,
    });
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain("apt-get install wixl");
  });
});
