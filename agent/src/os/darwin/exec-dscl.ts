import type { RunAsAccount } from "../../executor/types.js";

type UserAccount = Extract<RunAsAccount, { kind: "user" }>;

/** The attributes `dscl . -read /Users/NAME …` must print for us to run a script as NAME. */
export const DSCL_USER_ATTRIBUTES = ["UniqueID", "PrimaryGroupID", "NFSHomeDirectory", "UserShell"] as const;

/**
 * The account in a `dscl . -read /Users/NAME` dump, or undefined when an attribute we need is missing.
 * dscl prints `Key: value`, or `Key:` with the value on the next line, indented by one space, when the
 * value holds a space ("RealName:\n It's a feature"). Native keys ("dsAttrTypeNative:…") and multi-line
 * plists sit in the same dump; only whole standard keys at the start of a line are read.
 */
export function parseDsclUser(output: string, name: string): UserAccount | undefined {
  const lines = output.split(/\r?\n/);
  const value = (key: string): string | undefined => {
    const index = lines.findIndex((line) => line === `${key}:` || line.startsWith(`${key}: `));
    if (index < 0) return undefined;
    const inline = lines[index]!.slice(key.length + 1).trim();
    return inline || (lines[index + 1]?.startsWith(" ") ? lines[index + 1]!.trim() : undefined) || undefined;
  };
  const uid = value("UniqueID");
  const gid = value("PrimaryGroupID");
  const home = value("NFSHomeDirectory");
  // Negative ids exist (nobody is -2) but are not accounts a script should run as.
  if (!uid || !gid || !home || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return undefined;
  return { kind: "user", name, uid: Number(uid), gid: Number(gid), home, loginShell: value("UserShell") ?? "/bin/zsh" };
}
