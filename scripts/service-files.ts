// Writes the service definitions that `tether-agent install` generates, rendered for the standard paths,
// into installers/ for the packages to ship: `npx tsx scripts/service-files.ts`. A test keeps them equal
// to what the agent renders (test/integration/service-files.test.ts).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DarwinPlatform } from "../agent/src/os/darwin/platform.js";
import { renderLaunchdPlist } from "../agent/src/os/darwin/service-plist.js";
import { LinuxPlatform } from "../agent/src/os/linux/platform.js";
import { renderSystemdUnit } from "../agent/src/os/linux/service-unit.js";
import { renderWinswXml } from "../agent/src/os/windows/service-xml.js";
import { WindowsPlatform } from "../agent/src/os/windows/platform.js";
import type { CommandRunner } from "../agent/src/os/types.js";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const noRun: CommandRunner = async () => {
  throw new Error("rendering runs no tools");
};

/** installers/ path → content. Windows paths are those of a default Windows installation. */
export function renderServiceFiles(): Record<string, string> {
  const windows = new WindowsPlatform({ run: noRun, env: { ProgramFiles: "C:\\Program Files", PROGRAMDATA: "C:\\ProgramData" } });
  return {
    "installers/systemd/tether-agent.service": renderSystemdUnit(new LinuxPlatform().installLayout()),
    "installers/launchd/dev.tether.agent.plist": renderLaunchdPlist(new DarwinPlatform({ run: noRun }).installLayout()),
    "installers/windows/winsw/tether-agent-service.xml": renderWinswXml(windows.installLayout()),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [path, content] of Object.entries(renderServiceFiles())) {
    await writeFile(join(REPO_ROOT, path), content);
    console.log(`wrote ${path}`);
  }
}
