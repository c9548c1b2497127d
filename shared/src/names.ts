/**
 * Names that reach OS tools are checked against strict patterns here, on both sides, before any tool
 * sees them (DESIGN.md, principle 5).
 */

/**
 * A local account name, one rule for Linux, macOS and Windows (docs/directory.md explains each part):
 * a lower-case letter, then up to 19 lower-case letters, digits, `_`, `-` or `.`, not ending in `.`.
 * - Linux: inside shadow-utils' default rule (useradd), so no `--badname` is ever needed.
 * - macOS: a valid short name, and no leading `_` (reserved there for system accounts).
 * - Windows: at most 20 characters (the SAM account-name limit), none of `"/\[]:;|=,+*?<>@`, no
 *   trailing `.`; lower case only, since Windows and macOS compare names without case and Linux does not.
 * - Everywhere: not starting with `-` (read as an option), not all digits (read as a uid).
 */
export const LOCAL_USERNAME = /^[a-z][a-z0-9_.-]{0,19}$/;

/** The rule above in words, for error messages. */
export const LOCAL_USERNAME_RULE = "1–20 characters: a lower-case letter, then lower-case letters, digits, _, - or ., not ending in .";

export function isLocalUsername(name: string): boolean {
  return LOCAL_USERNAME.test(name) && !name.endsWith(".");
}

/**
 * Names of built-in accounts and groups on Linux, macOS or Windows (compared in lower case). A
 * directory user with one of these names would take over or clash with the system's own account.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  // Linux (Debian/Red Hat base passwd and group), BSD and macOS
  ...["root", "toor", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup"],
  ...["list", "irc", "gnats", "nobody", "nogroup", "adm", "tty", "disk", "kmem", "dialout", "cdrom", "floppy", "tape", "sudo", "audio"],
  ...["dip", "video", "plugdev", "staff", "users", "shadow", "utmp", "operator", "wheel", "ftp", "halt", "shutdown", "sshd", "polkitd"],
  ...["messagebus", "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-journal", "syslog", "dbus", "postfix", "docker"],
  ...["admin", "everyone", "localaccounts", "network", "nfsnobody"],
  // Windows built-in accounts and well-known principals
  ...["administrator", "administrators", "guest", "guests", "defaultaccount", "wdagutilityaccount", "krbtgt", "system", "localsystem"],
  ...["localservice", "networkservice", "trustedinstaller", "interactive", "service", "batch", "dialup", "defaultuser0"],
]);

/** Why `name` cannot be a directory user's name, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  if (!isLocalUsername(name)) return `must be ${LOCAL_USERNAME_RULE}`;
  if (RESERVED_USERNAMES.has(name)) return `"${name}" is reserved for a system account`;
  return undefined;
}

/** An environment variable name: a portable identifier (POSIX: letters, digits, underscore). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
