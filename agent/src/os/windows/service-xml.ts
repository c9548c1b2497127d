import { win32 } from "node:path";
import { xmlEscape } from "../../service/xml.js";
import type { InstallLayout } from "../types.js";

export const WINSW_SERVICE_ID = "tether-agent";
/** WinSW finds its XML by its own name: tether-agent-service.exe reads tether-agent-service.xml beside it. */
export const WINSW_BASENAME = "tether-agent-service";

export function winswFiles(binary: string): { exe: string; exeConfig: string; xml: string } {
  const dir = win32.dirname(binary);
  return {
    exe: win32.join(dir, `${WINSW_BASENAME}.exe`),
    exeConfig: win32.join(dir, `${WINSW_BASENAME}.exe.config`),
    xml: win32.join(dir, `${WINSW_BASENAME}.xml`),
  };
}

export function winswLogDir(layout: Pick<InstallLayout, "logDir" | "stateDir">): string {
  return layout.logDir ?? win32.join(layout.stateDir, "logs");
}

/**
 * WinSW 1.17 is built for .NET 2.0; this tells Windows to run it on .NET 4 when 2.0 is absent, as it is
 * on Windows 10 and 11 (the same file node-windows ships beside winsw.exe).
 */
export const WINSW_EXE_CONFIG = `<configuration>
  <startup>
    <supportedRuntime version="v2.0.50727" />
    <supportedRuntime version="v4.0" />
  </startup>
</configuration>
`;

/**
 * WinSW 1.17's configuration for the agent. Restarts after a failure with growing delays (WinSW has
 * the service control manager repeat the last one); a failure-free hour resets the count. On stop,
 * WinSW sends the agent Ctrl+C first (stopparentprocessfirst: the agent stops its own commands) and
 * kills it after stoptimeout, time enough to write the outbox. Logs roll by size: "roll" alone would
 * only roll when the service starts, and an agent runs for months.
 *
 * Nothing may precede <service>, not even a comment or an XML declaration: WinSW 1.x reads
 * stoptimeout, resetfailure and waithint from the document's first node and falls back to defaults
 * (15 s) otherwise.
 */
export function renderWinswXml(layout: Pick<InstallLayout, "binary" | "logDir" | "stateDir">): string {
  const logDir = winswLogDir(layout);
  return `<service>
  <!-- The Tether agent, wrapped by WinSW 1.17 (${WINSW_BASENAME}.exe beside this file). Written by
       "tether-agent install"; every setting is explained in docs/service.md. -->
  <id>${WINSW_SERVICE_ID}</id>
  <name>Tether agent</name>
  <description>Keeps this device managed by its Tether control plane.</description>
  <executable>${xmlEscape(layout.binary)}</executable>
  <argument>run</argument>
  <startmode>Automatic</startmode>
  <onfailure action="restart" delay="10 sec"/>
  <onfailure action="restart" delay="1 min"/>
  <onfailure action="restart" delay="5 min"/>
  <resetfailure>1 hour</resetfailure>
  <stoptimeout>30 sec</stoptimeout>
  <stopparentprocessfirst>true</stopparentprocessfirst>
  <logpath>${xmlEscape(logDir)}</logpath>
  <log mode="roll-by-size">
    <sizeThreshold>10240</sizeThreshold>
    <keepFiles>8</keepFiles>
  </log>
</service>
`;
}
