import { parse as parsePlist } from "plist";
import { z } from "zod";
import type { ProvisionedSettings } from "../os/types.js";
import { ConfigError, describeIssues, groupList, parseJsonSettings } from "./config.js";

/**
 * Readers for the settings a package, a provisioning tool or an MDM leaves for `install` before
 * agent.json exists: one per format, used by the OS drivers (which know where each one lives).
 */

const groupsSchema = z.array(z.string().trim().min(1).max(100)).max(50);

/** bootstrap.json (macOS, as JumpCloud's): dropped by an admin or MDM before the .pkg is installed. */
const BootstrapSchema = z.strictObject({
  connectKey: z.string().min(1).optional(),
  displayName: z.string().trim().min(1).max(255).optional(),
  groups: groupsSchema.optional(),
  serverUrl: z.string().min(1).optional(),
});

/** The configuration profile's keys (payload type dev.tether.agent), spelt as Apple's preferences are. */
const ManagedPreferencesSchema = z.looseObject({
  ConnectKey: z.string().min(1).optional(),
  DisplayName: z.string().trim().min(1).max(255).optional(),
  Groups: groupsSchema.optional(),
  ServerURL: z.string().min(1).optional(),
});

export function parseBootstrap(text: string, path: string): ProvisionedSettings {
  return withoutUndefined(parseJsonSettings(text, path, BootstrapSchema));
}

/** Managed preferences as XML (`plutil -convert xml1` turns the binary form the MDM writes into it). */
export function parseManagedPreferences(xml: string, path: string): ProvisionedSettings {
  let value: unknown;
  try {
    value = parsePlist(xml);
  } catch (error) {
    throw new ConfigError(`${path} is not a property list: ${(error as Error).message}`);
  }
  const parsed = ManagedPreferencesSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${path}: ${describeIssues(parsed.error)}`);
  const { ConnectKey, DisplayName, Groups, ServerURL } = parsed.data;
  return withoutUndefined({ connectKey: ConnectKey, displayName: DisplayName, groups: Groups, serverUrl: ServerURL });
}

/** Registry values (REG_SZ) the MSI writes from CONNECT_KEY, DISPLAY_NAME, SERVER_URL and GROUPS. */
export function settingsFromRegistry(value: (name: string) => string | undefined): ProvisionedSettings {
  const groups = groupList(value("Groups"));
  return withoutUndefined({
    connectKey: value("ConnectKey") || undefined,
    displayName: value("DisplayName")?.trim() || undefined,
    serverUrl: value("ServerUrl") || undefined,
    groups: groups?.length ? groups : undefined,
  });
}

function withoutUndefined(settings: { [K in keyof ProvisionedSettings]: ProvisionedSettings[K] | undefined }): ProvisionedSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as ProvisionedSettings;
}
