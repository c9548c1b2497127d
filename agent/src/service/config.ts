import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../identity/files.js";
import { ExitCode } from "../exit-codes.js";
import type { InstallLayout, PlatformDriver } from "../os/types.js";

/**
 * agent.json: the installed agent's settings, written by `tether-agent install` (mode 0600, or an ACL on
 * Windows: it holds the connect key) and read by `tether-agent run` for whatever its flags leave out.
 * Unknown fields are refused, so a misspelt setting is reported rather than ignored.
 */
export const AgentConfigSchema = z.strictObject({
  /** Enrolls this machine, and re-enrolls it when its identity turns out to be a clone's. */
  connectKey: z.string().min(1).optional(),
  /** Reach the control plane here instead of at the URL inside the connect key (the CA pin still applies). */
  serverUrl: z.string().regex(/^https:\/\/[^\s/]+/, "an https:// URL").optional(),
  displayName: z.string().trim().min(1).max(255).optional(),
  /** Device groups to join at enrollment. */
  groups: z.array(z.string().min(1).max(100)).max(50).optional(),
  /** Default: the OS's standard place (docs/agent.md). */
  stateDir: z.string().min(1).optional(),
  /**
   * Image mode: this installation is part of a system image made on `sourceMachine`. The agent does
   * not enroll on that machine, only on machines made from the image (docs/service.md).
   */
  image: z
    .strictObject({
      sourceMachine: z.strictObject({ machineId: z.string().optional(), serial: z.string().optional() }),
      preparedAt: z.string(),
    })
    .optional(),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly exitCode = ExitCode.Usage;
}

/**
 * The agent.json a command uses: the one given with --config, which must exist, or the standard one
 * for this OS, which may not (an agent run by hand from a checkout has none). `standard` says which:
 * only the standard one makes a run the installed service.
 */
export async function loadAgentConfig(explicit: string | undefined, layout: InstallLayout): Promise<{ path: string; config: AgentConfig | undefined; standard: boolean }> {
  const path = explicit ?? layout.configFile;
  const config = await readConfig(path);
  if (explicit && !config) throw new ConfigError(`${path} does not exist`);
  return { path, config, standard: !explicit };
}

/** The config at `path`, or undefined when there is none. Anything unreadable is a ConfigError naming the file. */
export async function readConfig(path: string): Promise<AgentConfig | undefined> {
  const text = await readOptionalFile(path);
  return text === undefined ? undefined : parseJsonSettings(text, path, AgentConfigSchema);
}

/** The text of a settings file that may be absent (undefined then); anything else unreadable is a ConfigError. */
export async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** JSON settings checked against `schema`; a ConfigError names the file and each field that is wrong. */
export function parseJsonSettings<S extends z.ZodType>(text: string, path: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${path}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`).join("; ");
}

/** Writes the config readable by the service account and administrators only, in a directory that is too. */
export async function writeConfig(path: string, config: AgentConfig, platform: Pick<PlatformDriver, "restrictFile" | "restrictDirectory">): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(config, null, 2) + "\n", 0o600);
  await platform.restrictDirectory(dirname(path));
  await platform.restrictFile(path);
}

/**
 * Settings a package leaves in /etc/default/tether-agent: KEY=VALUE lines as a shell or systemd's
 * EnvironmentFile would read them (comments, blank lines, `export`, single or double quotes).
 * CONNECT_KEY, DISPLAY_NAME, SERVER_URL and GROUPS (comma-separated) are used; other keys are ignored.
 */
export function parseDefaults(text: string): Partial<Pick<AgentConfig, "connectKey" | "displayName" | "serverUrl" | "groups">> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!match) continue;
    values.set(match[1]!, unquote(match[2]!.trim()));
  }
  const value = (key: string) => values.get(key) || undefined;
  const groups = groupList(value("GROUPS"));
  return {
    ...(value("CONNECT_KEY") ? { connectKey: value("CONNECT_KEY") } : {}),
    ...(value("DISPLAY_NAME") ? { displayName: value("DISPLAY_NAME") } : {}),
    ...(value("SERVER_URL") ? { serverUrl: value("SERVER_URL") } : {}),
    ...(groups?.length ? { groups } : {}),
  };
}

/** A comma-separated list of device groups, as packages and the MSI take it; empty entries dropped. */
export function groupList(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((g) => g.trim())
    .filter(Boolean);
}

export async function readDefaults(path: string): Promise<ReturnType<typeof parseDefaults>> {
  const text = await readOptionalFile(path);
  return text === undefined ? {} : parseDefaults(text);
}

function unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  if (quoted) return quoted[0].startsWith('"') ? quoted[1]!.replace(/\\(["\\$`])/g, "$1") : quoted[1]!;
  // Unquoted: a trailing " # comment" is not part of the value.
  return value.replace(/\s+#.*$/, "");
}
