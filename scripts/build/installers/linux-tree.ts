import { chmod, copyFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LinuxPlatform } from "../../../agent/src/os/linux/platform.js";
import { renderSystemdUnit, SYSTEMD_PACKAGE_UNIT_DIR, SYSTEMD_UNIT_NAME } from "../../../agent/src/os/linux/service-unit.js";
import { LICENSE, PACKAGE_NAME } from "./metadata.js";
import { mkdirs } from "./tree.js";

/** A file of a Linux package, by its path on the installed system. */
export interface PackagedFile {
  path: string;
  mode: number;
}

/**
 * The files the deb and the rpm install, laid out under `dir`, with the paths of the agent's packaged
 * layout (agent/src/os/linux/platform.ts): the binary in /usr/bin, the unit in /usr/lib/systemd/system,
 * and the marker that tells `tether-agent uninstall` which package manager owns them.
 * Settings (/etc/tether-agent) and state (/var/lib/tether-agent) are the agent's, not the package's.
 */
export async function stageLinuxTree(dir: string, binary: string, manager: "deb" | "rpm"): Promise<PackagedFile[]> {
  const layout = new LinuxPlatform().installLayout({ packaged: true });
  if (!layout.packageMarker) throw new Error("the agent's packaged Linux layout has no package marker");
  const files: Array<PackagedFile & { content: string | { copyOf: string } }> = [
    { path: layout.binary, mode: 0o755, content: { copyOf: binary } },
    { path: `${SYSTEMD_PACKAGE_UNIT_DIR}/${SYSTEMD_UNIT_NAME}`, mode: 0o644, content: renderSystemdUnit(layout) },
    { path: layout.packageMarker, mode: 0o644, content: `${manager}\n` },
  ];
  // Debian policy wants the licence beside every package; rpm has %license, which needs no file of ours.
  if (manager === "deb") files.push({ path: `/usr/share/doc/${PACKAGE_NAME}/copyright`, mode: 0o644, content: debCopyright() });

  for (const file of files) {
    const local = join(dir, file.path);
    await mkdirs(dir, dirname(file.path));
    if (typeof file.content === "string") await writeFile(local, file.content);
    else await copyFile(file.content.copyOf, local);
    await chmod(local, file.mode);
  }
  return files.map(({ path, mode }) => ({ path, mode }));
}

function debCopyright(): string {
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Tether
Comment: The agent binary is a Node.js single executable application: it contains Node.js (MIT
 licence and the licences of its bundled dependencies) and the agent's npm dependencies.

Files: *
Copyright: Tether contributors
License: ${LICENSE}
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
`;
}
