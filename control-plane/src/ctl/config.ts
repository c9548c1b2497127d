import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "../../../shared/src/cli/run-cli.js";

/** What `tetherctl login` saves: the server, the key, and the CA to trust it by. */
const SavedLoginSchema = z.object({
  url: z.string(),
  apiKey: z.string(),
  /** PEM of the control plane's CA; absent: the server's certificate is checked against the system store. */
  caPem: z.string().optional(),
});
export type SavedLogin = z.infer<typeof SavedLoginSchema>;

/** `$TETHER_CONFIG`, else `$XDG_CONFIG_HOME/tether/ctl.json`, else `~/.config/tether/ctl.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TETHER_CONFIG) return env.TETHER_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "tether", "ctl.json");
}

export function readLogin(path: string): SavedLogin | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = SavedLoginSchema.safeParse(parseJson(text));
  if (!parsed.success) throw new CliError(`${path} is not a tetherctl login; run "tetherctl logout" and log in again`);
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Saves the login with mode 0600 (it holds an API key) in a directory created 0700. The file is
 * written beside its final name and renamed, so a crash never leaves half a file.
 */
export function saveLogin(path: string, login: SavedLogin): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const staged = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(staged, JSON.stringify(login, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    renameSync(staged, path);
  } catch (error) {
    rmSync(staged, { force: true });
    throw error;
  }
}

/** Removes the saved login; false when there was none. */
export function removeLogin(path: string): boolean {
  try {
    rmSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
