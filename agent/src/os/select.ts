import { DarwinPlatform } from "./darwin/platform.js";
import { LinuxPlatform } from "./linux/platform.js";
import { runCommand } from "./run.js";
import type { PlatformDriver } from "./types.js";
import { WindowsPlatform } from "./windows/platform.js";

/** The one place that maps process.platform to a driver; only the agent's composition root calls it. */
export function selectPlatformDriver(platform: NodeJS.Platform = process.platform): PlatformDriver {
  switch (platform) {
    case "linux":
      return new LinuxPlatform();
    case "darwin":
      return new DarwinPlatform({ run: runCommand });
    case "win32":
      return new WindowsPlatform({ run: runCommand });
    default:
      throw new Error(`Tether's agent does not support ${platform}`);
  }
}
