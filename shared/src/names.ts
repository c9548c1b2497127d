/**
 * Names that reach OS tools are checked against strict patterns here, on both sides, before any tool
 * sees them (DESIGN.md, principle 5).
 */

/**
 * A local account name safe on Linux (shadow-utils' default rule), macOS and Windows: starts with a
 * lower-case letter or underscore, then lower-case letters, digits, `_`, `-` or `.`, at most 32 long,
 * not ending in `.` (Windows strips a trailing dot).
 */
export const LOCAL_USERNAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

export function isLocalUsername(name: string): boolean {
  return LOCAL_USERNAME.test(name) && !name.endsWith(".");
}

/** An environment variable name: a portable identifier (POSIX: letters, digits, underscore). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
