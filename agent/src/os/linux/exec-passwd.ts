import type { RunAsAccount } from "../../executor/types.js";

type UserAccount = Extract<RunAsAccount, { kind: "user" }>;

/**
 * The account in one `getent passwd NAME` line (`name:password:uid:gid:gecos:home:shell`, the format of
 * /etc/passwd), or undefined when the line is not one or is about someone else.
 */
export function parsePasswdLine(output: string, name: string): UserAccount | undefined {
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(":");
    if (fields.length !== 7 || fields[0] !== name) continue;
    const [, , uid, gid, , home, loginShell] = fields as [string, string, string, string, string, string, string];
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return undefined;
    return { kind: "user", name, uid: Number(uid), gid: Number(gid), home: home || "/", loginShell: loginShell || "/bin/sh" };
  }
  return undefined;
}
