import type { ExecutionSpec, ScriptHost } from "./types.js";

// A POSIX-portable login name (letters, digits, . _ -, not starting with - or .), at most 32 characters
// as useradd allows. It reaches getent, setpriv, dscl and sudo, so nothing else may get through.
const USERNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
// Ids become a directory name and an environment value: keep them to what a UUID or ULID uses.
const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHA256 = /^[0-9a-f]{64}$/i;
// The control plane's maximum (24 h); a bigger number is a bug upstream, not a long script.
const MAX_TIMEOUT_SECONDS = 86_400;

/**
 * Checks what the control plane should already have checked, because a bad value here would reach an OS
 * tool or the file system. Returns the first problem, worded for an admin, or null.
 */
export function validateSpec(spec: ExecutionSpec, host: ScriptHost): string | null {
  if (!EXECUTION_ID.test(spec.executionId)) return `execution id ${JSON.stringify(spec.executionId)} is not valid`;
  try {
    host.checkShell(spec.shell);
  } catch (error) {
    return (error as Error).message;
  }
  if (!USERNAME.test(spec.runAs)) return `runAs ${JSON.stringify(spec.runAs)} is not a valid user name`;
  if (!(spec.timeoutSeconds > 0 && spec.timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
    return `timeoutSeconds must be more than 0 and at most ${MAX_TIMEOUT_SECONDS}, not ${spec.timeoutSeconds}`;
  }
  if (!Number.isSafeInteger(spec.outputLimitBytes) || spec.outputLimitBytes < 0) {
    return `outputLimitBytes must be a whole number of bytes, not ${spec.outputLimitBytes}`;
  }
  if (spec.script.includes("\0")) return "the script contains a NUL character";
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name)) return `environment variable name ${JSON.stringify(name)} is not a valid identifier`;
    if (value.includes("\0")) return `environment variable ${name} contains a NUL character`;
  }
  for (const file of spec.files) {
    const problem = attachmentProblem(file, host);
    if (problem) return problem;
  }
  return null;
}

function attachmentProblem(file: ExecutionSpec["files"][number], host: ScriptHost): string | null {
  const { path } = file;
  if (!host.path.isAbsolute(path) || path.includes("\0")) return `attachment path ${JSON.stringify(path)} is not absolute`;
  // Checked on the path as given: normalize() would quietly resolve "/etc/../root" to "/root".
  if (path.split(/[\\/]/).includes("..")) return `attachment path ${JSON.stringify(path)} contains a ".." segment`;
  if (/[\\/]$/.test(path)) return `attachment path ${JSON.stringify(path)} names a directory, not a file`;
  if (!SHA256.test(file.sha256)) return `attachment ${path}: sha256 ${JSON.stringify(file.sha256)} is not 64 hex digits`;
  if (!Number.isSafeInteger(file.size) || file.size < 0) return `attachment ${path}: size ${file.size} is not a byte count`;
  return null;
}
