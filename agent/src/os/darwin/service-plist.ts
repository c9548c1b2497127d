import { xmlEscape } from "../../service/xml.js";
import type { InstallLayout } from "../types.js";

export const LAUNCHD_LABEL = "dev.tether.agent";
export const LAUNCHD_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
export const DEFAULT_LOG_DIR = "/Library/Logs/Tether";

export function launchdLogFiles(logDir: string): { stdout: string; stderr: string } {
  return { stdout: `${logDir}/tether-agent.log`, stderr: `${logDir}/tether-agent.err.log` };
}

/**
 * The agent's LaunchDaemon: started at boot (RunAtLoad) and whenever it ends (KeepAlive; launchd waits
 * 10 s between starts). launchd cannot tell exit statuses apart, so statuses that systemd would not
 * restart are restarted here too (docs/service.md). ExitTimeOut gives the agent 30 s after SIGTERM to
 * write its outbox, as systemd's TimeoutStopSec does.
 */
export function renderLaunchdPlist(layout: Pick<InstallLayout, "binary" | "logDir">): string {
  const logs = launchdLogFiles(layout.logDir ?? DEFAULT_LOG_DIR);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>${xmlEscape(layout.binary)}</string>
    <string>run</string>
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ExitTimeOut</key>
  <integer>30</integer>
  <key>ProcessType</key>
  <string>Standard</string>
  <key>StandardOutPath</key>
  <string>${xmlEscape(logs.stdout)}</string>
  <key>StandardErrorPath</key>
  <string>${xmlEscape(logs.stderr)}</string>
</dict>
</plist>
`;
}
