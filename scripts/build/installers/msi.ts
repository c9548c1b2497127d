import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DOMParser } from "@xmldom/xmldom";
import { execa } from "execa";
import { WINSW_BASENAME, WINSW_EXE_CONFIG } from "../../../agent/src/os/windows/service-xml.js";
import { xmlEscape } from "../../../agent/src/service/xml.js";
import { findTool } from "../tools.js";
import { PACKAGE_NAME, SUMMARY, VENDOR, type InstallerBuildOptions } from "./metadata.js";

/**
 * The Windows installer, built with wixl (msitools) from WiX source. It installs into
 * %ProgramFiles%\Tether the agent, WinSW as tether-agent-service.exe with its XML and .exe.config (the
 * files `tether-agent install` writes on Windows, docs/service.md), and the marker `packaged` that makes
 * `tether-agent uninstall` leave the files to the MSI. Windows Installer itself registers and starts the
 * service (ServiceInstall, ServiceControl), which WinSW then runs as `tether-agent.exe run`.
 *
 * The public properties CONNECT_KEY, SERVER_URL, DISPLAY_NAME and GROUPS go into registry values under
 * HKLM\SOFTWARE\Tether\Agent; a deferred custom action running as LocalSystem then runs the installed
 * `tether-agent.exe install --packaged --no-start`, which reads them, writes agent.json and deletes the
 * ConnectKey value. The key never appears on a command line, and CONNECT_KEY is hidden from the log.
 */

/** Fixed for every version: what MajorUpgrade finds older versions by. Never change it. */
export const UPGRADE_CODE = "723DB653-E297-4B43-A7DE-726BAAA2081E";
/** Component GUIDs stay the same across versions, as component rules require. */
const COMPONENTS = {
  agent: "E8BEAFFB-FBFF-466B-A3E1-A59F0CB09C93",
  service: "4F380236-921A-434C-A63F-50254136274F",
  marker: "C1F650F5-C1D1-4B08-B116-4CDD8381D81F",
  ConnectKey: "9E80C151-E907-4AAC-ABDF-EDFC357AA0B4",
  ServerUrl: "F8BB58EF-B513-4A3F-A8E8-2242171E8957",
  DisplayName: "41555A32-5545-4B6B-A843-64E7B2F9DE9B",
  Groups: "84346D5E-4D02-4BC8-92F8-C4E96BE64EB0",
} as const;

/** MSI public property → registry value the agent reads (agent/src/service/provisioning.ts). */
export const REGISTRY_VALUES = { CONNECT_KEY: "ConnectKey", SERVER_URL: "ServerUrl", DISPLAY_NAME: "DisplayName", GROUPS: "Groups" } as const;
export const REGISTRY_KEY = "SOFTWARE\\Tether\\Agent";

/** `binary` is the win-x64 agent. */
export interface MsiOptions extends InstallerBuildOptions {
  /** WinSW 1.17 (node-windows' bin/winsw/winsw.exe). */
  winsw: string;
  /** installers/windows/winsw/tether-agent-service.xml. */
  serviceXml: string;
}

export function msiFileName(version: string): string {
  return `${PACKAGE_NAME}-${version}-x64.msi`;
}

/** The service's id, display name and description, as WinSW's XML gives them: the MSI registers the same service. */
export function readWinswService(xml: string): { id: string; name: string; description: string } {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const text = (tag: string) => {
    const value = doc.getElementsByTagName(tag)[0]?.textContent?.trim();
    if (!value) throw new Error(`the WinSW XML has no <${tag}>`);
    return value;
  };
  return { id: text("id"), name: text("name"), description: text("description") };
}

export async function buildMsi(options: MsiOptions): Promise<string> {
  const wixl = await findTool(["wixl"], "wixl");
  const dir = join(options.workDir, "msi");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const xml = await readFile(options.serviceXml, "utf8");
    await copyFile(options.binary, join(dir, "tether-agent.exe"));
    await copyFile(options.winsw, join(dir, `${WINSW_BASENAME}.exe`));
    await writeFile(join(dir, `${WINSW_BASENAME}.xml`), xml);
    await writeFile(join(dir, `${WINSW_BASENAME}.exe.config`), WINSW_EXE_CONFIG);
    await writeFile(join(dir, "packaged"), "msi\n");
    const source = join(dir, "tether-agent.wxs");
    await writeFile(source, renderWxs(options.version, readWinswService(xml)));
    const out = join(options.outDir, msiFileName(options.version));
    // wixl only warns about attributes it does not know, and then leaves them out: any warning fails.
    const result = await execa(wixl, ["-a", "x64", "-o", out, source], { cwd: dir, reject: false, all: true, stdin: "ignore" });
    if (result.exitCode !== 0 || /warning|error/i.test(result.all ?? "")) {
      await rm(out, { force: true });
      throw new Error(`wixl failed (exit ${result.exitCode}):\n${(result.all ?? "").trim()}`);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The WiX source. What wixl cannot do shapes it (docs/packaging.md): no conditions on components (the
 * registry values are always written, empty when their property is not given, which the agent reads as
 * absent), no ServiceConfig (WinSW's XML has the restart-on-failure settings), no SecureCustomProperties
 * of ours (MajorUpgrade writes that row). RemoveExistingProducts right after InstallValidate removes an
 * older version completely before the new one is installed: wixl's own place for it, after
 * InstallFinalize, would compare file versions, and the agent's version resource is Node's.
 */
export function renderWxs(version: string, service: { id: string; name: string; description: string }): string {
  const e = xmlEscape;
  const registry = Object.entries(REGISTRY_VALUES)
    .map(
      ([property, name]) => `          <Component Id="Reg${name}" Guid="${COMPONENTS[name]}" Win64="yes">
            <RegistryValue Root="HKLM" Key="${e(REGISTRY_KEY)}" Name="${name}" Type="string" Value="[${property}]" KeyPath="yes"/>
          </Component>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by scripts/build/installers/msi.ts. -->
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Tether agent" Manufacturer="${VENDOR}" Version="${version}" Language="1033" UpgradeCode="${UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="${e(SUMMARY)}" Manufacturer="${VENDOR}"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of the Tether agent is already installed."/>
    <Media Id="1" Cabinet="agent.cab" EmbedCab="yes"/>
    <Property Id="MsiHiddenProperties" Value="CONNECT_KEY"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="TetherFolder" Name="Tether">
          <Component Id="Agent" Guid="${COMPONENTS.agent}" Win64="yes">
            <File Id="tether_agent_exe" Name="tether-agent.exe" Source="tether-agent.exe" KeyPath="yes"/>
          </Component>
          <Component Id="Service" Guid="${COMPONENTS.service}" Win64="yes">
            <File Id="winsw_exe" Name="${WINSW_BASENAME}.exe" Source="${WINSW_BASENAME}.exe" KeyPath="yes"/>
            <File Id="winsw_xml" Name="${WINSW_BASENAME}.xml" Source="${WINSW_BASENAME}.xml"/>
            <File Id="winsw_exe_config" Name="${WINSW_BASENAME}.exe.config" Source="${WINSW_BASENAME}.exe.config"/>
            <ServiceInstall Id="AgentService" Name="${e(service.id)}" DisplayName="${e(service.name)}" Description="${e(service.description)}" Type="ownProcess" Start="auto" ErrorControl="normal" Account="LocalSystem" Vital="yes"/>
            <ServiceControl Id="AgentServiceControl" Name="${e(service.id)}" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
          </Component>
          <Component Id="Marker" Guid="${COMPONENTS.marker}" Win64="yes">
            <File Id="packaged_marker" Name="packaged" Source="packaged" KeyPath="yes"/>
          </Component>
${registry}
        </Directory>
      </Directory>
    </Directory>
    <CustomAction Id="ConfigureAgent" FileKey="tether_agent_exe" ExeCommand="install --packaged --no-start" Execute="deferred" Impersonate="no" Return="check"/>
    <InstallExecuteSequence>
      <RemoveExistingProducts Sequence="1401"/>
      <Custom Action="ConfigureAgent" After="WriteRegistryValues">NOT REMOVE</Custom>
    </InstallExecuteSequence>
    <Feature Id="Agent" Title="Tether agent" Level="1">
      <ComponentRef Id="Agent"/>
      <ComponentRef Id="Service"/>
      <ComponentRef Id="Marker"/>
${Object.values(REGISTRY_VALUES)
  .map((name) => `      <ComponentRef Id="Reg${name}"/>`)
  .join("\n")}
    </Feature>
  </Product>
</Wix>
`;
}
