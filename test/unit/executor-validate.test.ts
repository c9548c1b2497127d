import { posix, win32 } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExecutionSpec, ScriptHost, Shell } from "../../agent/src/executor/types.js";
import { validateSpec } from "../../agent/src/executor/validate-spec.js";

function hostWith(path: typeof posix, shells: Shell[]): ScriptHost {
  return {
    path,
    checkShell: (shell: Shell) => {
      if (!shells.includes(shell)) throw new Error(`shell ${shell} is not available`);
    },
  } as unknown as ScriptHost;
}
const linux = hostWith(posix, ["bash", "sh", "zsh"]);
const windows = hostWith(win32, ["powershell", "cmd"]);

const spec = (overrides: Partial<ExecutionSpec> = {}): ExecutionSpec => ({
  executionId: "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6071",
  script: "true",
  shell: "bash",
  runAs: "root",
  timeoutSeconds: 120,
  env: {},
  files: [],
  outputLimitBytes: 1_048_576,
  ...overrides,
});
const file = (path: string) => ({ path, sha256: "ab".repeat(32), size: 3 });

describe("validateSpec", () => {
  it("accepts a normal execution", () => {
    expect(validateSpec(spec({ runAs: "alice.smith", env: { _Name1: "x" }, files: [file("/opt/app/config.json")] }), linux)).toBeNull();
    expect(validateSpec(spec({ shell: "powershell", runAs: "system", files: [file("C:\\ProgramData\\app\\a.txt")] }), windows)).toBeNull();
  });

  it.each(["-rf", "a b", "bob;id", "../root", "$(id)", "", "x".repeat(33), "björn"])("refuses the user name %j", (runAs) => {
    expect(validateSpec(spec({ runAs }), linux)).toBe(`runAs ${JSON.stringify(runAs)} is not a valid user name`);
  });

  it("refuses a shell the host does not offer", () => {
    expect(validateSpec(spec({ shell: "powershell" }), linux)).toBe("shell powershell is not available");
    expect(validateSpec(spec({ shell: "bash" }), windows)).toBe("shell bash is not available");
  });

  it.each([
    ["etc/passwd", 'attachment path "etc/passwd" is not absolute'],
    ["/opt/../etc/shadow", 'attachment path "/opt/../etc/shadow" contains a ".." segment'],
    ["/opt/app/", 'attachment path "/opt/app/" names a directory, not a file'],
    ["/", 'attachment path "/" names a directory, not a file'],
  ])("refuses the attachment path %j", (path, message) => {
    expect(validateSpec(spec({ files: [file(path)] }), linux)).toBe(message);
  });

  it("refuses Windows paths that are relative or climb", () => {
    expect(validateSpec(spec({ shell: "cmd", runAs: "system", files: [file("app\\a.txt")] }), windows)).toMatch(/is not absolute/);
    expect(validateSpec(spec({ shell: "cmd", runAs: "system", files: [file("C:\\app\\..\\Windows\\a.dll")] }), windows)).toMatch(/".." segment/);
  });

  it("refuses a bad checksum, size, env name, timeout or output limit", () => {
    expect(validateSpec(spec({ files: [{ path: "/a", sha256: "xyz", size: 1 }] }), linux)).toMatch(/is not 64 hex digits/);
    expect(validateSpec(spec({ files: [{ path: "/a", sha256: "ab".repeat(32), size: -1 }] }), linux)).toMatch(/is not a byte count/);
    expect(validateSpec(spec({ env: { "1ABC": "x" } }), linux)).toBe('environment variable name "1ABC" is not a valid identifier');
    expect(validateSpec(spec({ env: { "A=B": "x" } }), linux)).toMatch(/not a valid identifier/);
    expect(validateSpec(spec({ env: { A: "x\0y" } }), linux)).toMatch(/NUL/);
    expect(validateSpec(spec({ timeoutSeconds: 0 }), linux)).toMatch(/timeoutSeconds/);
    expect(validateSpec(spec({ timeoutSeconds: 86_401 }), linux)).toMatch(/timeoutSeconds/);
    expect(validateSpec(spec({ timeoutSeconds: Number.NaN }), linux)).toMatch(/timeoutSeconds/);
    expect(validateSpec(spec({ outputLimitBytes: 1.5 }), linux)).toMatch(/outputLimitBytes/);
  });

  it("refuses an execution id that could not be a directory name", () => {
    expect(validateSpec(spec({ executionId: "../../etc" }), linux)).toMatch(/execution id/);
  });
});
