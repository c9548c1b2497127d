import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentMessage } from "../../shared/src/protocol/messages.js";
import type { ExecutionSpecMessage } from "../../shared/src/protocol/commands.js";
import { CommandHandler, fitFrame } from "../../agent/src/commands/handler.js";
import { ExecutionJournal } from "../../agent/src/commands/journal.js";
import type { ExecutionOutcome, ScriptHost } from "../../agent/src/executor/types.js";
import { waitFor } from "../helpers/wait.js";

const spec = (id: string): ExecutionSpecMessage => ({
  executionId: id,
  script: "echo hi",
  shell: "bash",
  runAs: "root",
  timeoutSeconds: 10,
  env: {},
  files: [],
  outputLimitBytes: 1024,
});

const outcome = (stdout: string): ExecutionOutcome => ({
  status: "succeeded",
  exitCode: 0,
  stdout,
  stderr: "",
  stdoutTruncated: false,
  stderrTruncated: false,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  error: null,
});

// The journal and outbox with a stand-in runner: the real runner has its own tests; here what matters
// is that nothing runs twice and no result is lost.
describe("CommandHandler", () => {
  let dir: string;
  let sent: AgentMessage[];
  let runs: string[];
  const sink = { send: (m: AgentMessage) => (sent.push(m), true) };
  const make = (journal = new ExecutionJournal(dir)) =>
    new CommandHandler({
      journal,
      host: {} as ScriptHost,
      run: async (s) => {
        runs.push(s.executionId);
        return outcome("hi\n");
      },
      fetchFile: async () => Buffer.alloc(0),
      logger: pino({ level: "silent" }),
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-handler-"));
    sent = [];
    runs = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("runs a new execution once and keeps its result until acknowledged", async () => {
    const handler = make();
    await handler.onWelcome(sink);
    await handler.onRun(spec("exe_0000000001aaaa"));
    await waitFor(() => sent.some((m) => m.type === "exec.result"));
    await handler.onRun(spec("exe_0000000001aaaa"));
    expect(runs).toEqual(["exe_0000000001aaaa"]);
    expect(sent.filter((m) => m.type === "exec.result")).toHaveLength(2); // the duplicate re-reports

    // A reconnect before the ack re-sends the stored result; after the ack, nothing.
    sent = [];
    await handler.onWelcome(sink);
    expect(sent.map((m) => m.type)).toEqual(["exec.result"]);
    await handler.onAck("exe_0000000001aaaa");
    sent = [];
    await handler.onWelcome(sink);
    await handler.onRun(spec("exe_0000000001aaaa"));
    expect(sent).toEqual([]);
    expect(runs).toHaveLength(1);
  });

  it("reports what was starting when the agent died as interrupted, and does not run it", async () => {
    const journal = new ExecutionJournal(dir);
    await journal.put({ id: "exe_0000000002bbbb", state: "starting", spec: spec("exe_0000000002bbbb") });
    const handler = make(journal);
    await handler.recover();
    await handler.onWelcome(sink);
    await handler.onRun(spec("exe_0000000002bbbb"));
    expect(runs).toEqual([]);
    const results = sent.filter((m) => m.type === "exec.result");
    expect(results.length).toBeGreaterThanOrEqual(1);
    expect(results[0]).toMatchObject({ executionId: "exe_0000000002bbbb", status: "interrupted" });
  });

  it("takes an entry torn by a power cut (only acks are written unflushed) as acknowledged: never re-run, never re-sent", async () => {
    const id = "exe_0000000005eeee";
    await mkdir(join(dir, "executions"), { recursive: true });
    await writeFile(join(dir, "executions", `${id}.json`), "");
    const handler = make();
    await handler.recover();
    await handler.onWelcome(sink);
    await handler.onRun(spec(id));
    expect(runs).toEqual([]);
    expect(sent).toEqual([]);
  });

  it("honours a cancel that arrives while the execution is still being journaled", async () => {
    const handler = new CommandHandler({
      journal: new ExecutionJournal(dir),
      host: {} as ScriptHost,
      run: async (s, hooks) => {
        runs.push(s.executionId);
        return { ...outcome(""), status: hooks.signal?.aborted ? "canceled" : "succeeded" };
      },
      fetchFile: async () => Buffer.alloc(0),
      logger: pino({ level: "silent" }),
    });
    await handler.onWelcome(sink);
    const running = handler.onRun(spec("exe_0000000004dddd"));
    handler.onCancel("exe_0000000004dddd");
    await running;
    const result = await waitFor(() => sent.find((m) => m.type === "exec.result"));
    expect(result).toMatchObject({ executionId: "exe_0000000004dddd", status: "canceled" });
  });

  it("sends the result as soon as it is known, once; an ack that overtakes the finished entry leaves it acknowledged", async () => {
    let release!: () => void;
    const cleanedUp = new Promise<void>((resolve) => (release = resolve));
    const journal = new ExecutionJournal(dir);
    const handler = new CommandHandler({
      journal,
      host: {} as ScriptHost,
      // As the real runner: the outcome goes out, then the script's directory is removed.
      run: async (s, hooks) => {
        runs.push(s.executionId);
        await hooks.mayStart;
        hooks.onOutcome?.(outcome("early\n"));
        await cleanedUp;
        return outcome("early\n");
      },
      fetchFile: async () => Buffer.alloc(0),
      logger: pino({ level: "silent" }),
    });
    await handler.onWelcome(sink);
    await handler.onRun(spec("exe_0000000003cccc"));
    await waitFor(() => sent.some((m) => m.type === "exec.result"));
    expect((await journal.get("exe_0000000003cccc"))?.state).toBe("starting");

    await handler.onAck("exe_0000000003cccc");
    release();
    await waitFor(async () => (await journal.get("exe_0000000003cccc"))?.state === "acked");
    expect(sent.filter((m) => m.type === "exec.result")).toHaveLength(1);
    sent = [];
    await handler.onWelcome(sink);
    expect(sent).toEqual([]);
  });

  it("shrinks a result whose JSON would not fit one frame, keeping the tail", () => {
    const control = "\u0001".repeat(1024 * 1024);
    const fitted = fitFrame({ executionId: "exe_0000000003cccc", ...outcome(control + "END") }, 4 * 1024 * 1024);
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(fitted.stdout.endsWith("END")).toBe(true);
    expect(fitted.stdoutTruncated).toBe(true);
  });
});
