import { describe, expect, it } from "vitest";
import type { Execution, ExecutionStatus } from "../../control-plane/src/domain/command.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import { renderSummary } from "../../control-plane/src/ctl/execution-view.js";
import { renderLaunch } from "../../control-plane/src/ctl/launch.js";
import { lineView } from "../../control-plane/src/ctl/progress.js";
import {
  allFinal,
  allPages,
  exitStatusOf,
  isFinal,
  newOutput,
  OutputFollower,
  progressOf,
  waitForRun,
  type Progress,
  type ProgressView,
  type WaitIo,
} from "../../control-plane/src/ctl/wait.js";

/** `--wait`: the decisions over canned result pages, and the polling loop with a fake clock. */

function execution(id: string, status: ExecutionStatus, extra: Partial<Execution> = {}): Execution {
  const final = isFinal({ status });
  return {
    id,
    runId: "run_1",
    commandId: null,
    commandName: null,
    deviceId: `dev_${id}`,
    status,
    exitCode: status === "succeeded" ? 0 : status === "failed" ? 1 : status === "timed_out" ? 124 : null,
    stdoutTruncated: false,
    stderrTruncated: false,
    error: null,
    requestedBy: "key_admin",
    requestedAt: "2030-01-01T00:00:00.000Z",
    expiresAt: "2030-01-02T00:00:00.000Z",
    sentAt: null,
    startedAt: null,
    finishedAt: final ? "2030-01-01T00:00:01.500Z" : null,
    durationMs: final ? 1500 : null,
    cancelRequested: false,
    ...extra,
  };
}

const page = (results: Execution[], totalCount = results.length): Page<Execution> => ({ results, totalCount });

describe("final statuses and progress", () => {
  it("treats the six agent outcomes and expired as final, queued/sent/running as not", () => {
    const final = ["succeeded", "failed", "timed_out", "canceled", "interrupted", "error", "expired"] as const;
    for (const status of final) expect(isFinal({ status }), status).toBe(true);
    for (const status of ["queued", "sent", "running"] as const) expect(isFinal({ status }), status).toBe(false);
  });

  it("counts done and failures (final but not succeeded) against the launched total", () => {
    const list = [execution("a", "succeeded"), execution("b", "failed"), execution("c", "running"), execution("d", "expired")];
    expect(progressOf(list, 5)).toEqual({ total: 5, done: 3, failures: 2 });
    expect(progressOf([])).toEqual({ total: 0, done: 0, failures: 0 });
  });

  it("is all final only when no execution is missing from the list", () => {
    expect(allFinal([execution("a", "succeeded"), execution("b", "error")], 2)).toBe(true);
    expect(allFinal([execution("a", "succeeded")], 2)).toBe(false);
    expect(allFinal([execution("a", "succeeded"), execution("b", "sent")], 2)).toBe(false);
  });

  it("exits 0 only when every execution succeeded, and 1 when nothing ran", () => {
    expect(exitStatusOf([execution("a", "succeeded"), execution("b", "succeeded")])).toBe(0);
    expect(exitStatusOf([execution("a", "succeeded"), execution("b", "timed_out")])).toBe(1);
    expect(exitStatusOf([execution("a", "canceled")])).toBe(1);
    expect(exitStatusOf([])).toBe(1);
  });
});

describe("allPages", () => {
  it("pages with skip until totalCount is reached", async () => {
    const all = Array.from({ length: 2345 }, (_, i) => execution(`e${i}`, "succeeded"));
    const asked: [number, number][] = [];
    const results = await allPages(async (skip, limit) => {
      asked.push([skip, limit]);
      return page(all.slice(skip, skip + limit), all.length);
    });
    expect(asked).toEqual([
      [0, 1000],
      [1000, 1000],
      [2000, 1000],
    ]);
    expect(results.map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  it("stops at an empty page even if totalCount promised more (rows deleted meanwhile)", async () => {
    let calls = 0;
    const results = await allPages(async () => (++calls === 1 ? page([execution("a", "queued")], 5) : page([], 5)));
    expect(results).toHaveLength(1);
    expect(calls).toBe(2);
  });
});

describe("newOutput", () => {
  it("is the appended part while the output grows from its start", () => {
    expect(newOutput("", "hello\n")).toBe("hello\n");
    expect(newOutput("hello\n", "hello\nworld\n")).toBe("world\n");
    expect(newOutput("same", "same")).toBe("");
  });

  it("follows the overlap once the kept tail drops the start", () => {
    // Full output "0123456789ABCDEF" kept as an 8-character tail.
    expect(newOutput("23456789", "89ABCDEF")).toBe("ABCDEF");
    expect(newOutput("line 1\nline 2\nline 3\n", "line 3\nline 4\n")).toBe("line 4\n");
  });

  it("prints all of the tail when nothing printed is left in it", () => {
    expect(newOutput("abc", "xyz")).toBe("xyz");
  });

  it("lines up UTF-16 units, so characters outside the BMP are not split or repeated", () => {
    expect(newOutput("ok 😀", "ok 😀 done")).toBe(" done");
    expect(newOutput("x😀y", "😀yz")).toBe("z");
  });
});

describe("OutputFollower", () => {
  it("writes each new part of stdout and stderr once, and remembers whether stdout ended a line", () => {
    const out: string[] = [];
    const err: string[] = [];
    const follower = new OutputFollower({ stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    follower.push({});
    follower.push({ stdout: "step 1\n", stderr: "" });
    follower.push({ stdout: "step 1\nstep 2", stderr: "warn\n" });
    follower.push({ stdout: "step 1\nstep 2", stderr: "warn\n" });
    expect(out).toEqual(["step 1\n", "step 2"]);
    expect(err).toEqual(["warn\n"]);
    expect(follower.endsWithNewline).toBe(false);
  });
});

/** A WaitIo that answers from scripted polls, with a clock that advances only when the loop sleeps. */
function scriptedIo(polls: { list?: Execution[][]; one?: Execution[] }) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  let listCalls = 0;
  let oneCalls = 0;
  const io: WaitIo = {
    listRun: async (runId) => {
      expect(runId).toBe("run_1");
      const list = polls.list!;
      return list[Math.min(listCalls++, list.length - 1)]!;
    },
    getOne: async () => {
      const one = polls.one!;
      return one[Math.min(oneCalls++, one.length - 1)]!;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
  };
  return { io, sleeps, calls: () => ({ list: listCalls, one: oneCalls }), start: clock };
}

function recordingView(): ProgressView & { seen: Progress[]; stopped: boolean } {
  const view = {
    seen: [] as Progress[],
    stopped: false,
    update: (p: Progress) => view.seen.push(p),
    stop: () => {
      view.stopped = true;
    },
  };
  return view;
}

describe("waitForRun", () => {
  const launched = [execution("a", "queued"), execution("b", "queued"), execution("c", "queued")];

  it("polls the run's list every 500 ms until every execution is final, reporting progress each time", async () => {
    const { io, sleeps, calls } = scriptedIo({
      list: [
        // The list is newest first and may lag: c is not listed yet on the first poll.
        [execution("b", "running"), execution("a", "sent")],
        [execution("c", "queued"), execution("b", "succeeded"), execution("a", "running")],
        [execution("c", "failed", { error: null }), execution("b", "succeeded"), execution("a", "succeeded")],
      ],
    });
    const view = recordingView();
    const outcome = await waitForRun("run_1", launched, io, { deadline: Infinity, progress: view });
    expect(outcome.finished).toBe(true);
    // In launch order, whatever order the list came in.
    expect(outcome.executions.map((e) => `${e.id}:${e.status}`)).toEqual(["a:succeeded", "b:succeeded", "c:failed"]);
    expect(view.seen).toEqual([
      { total: 3, done: 0, failures: 0 },
      { total: 3, done: 1, failures: 0 },
      { total: 3, done: 3, failures: 1 },
    ]);
    expect(sleeps).toEqual([500, 500]);
    expect(calls()).toEqual({ list: 3, one: 0 });
    expect(view.stopped).toBe(true);
    expect(exitStatusOf(outcome.executions)).toBe(1);
  });

  it("gives up at the deadline with the last state seen", async () => {
    const { io, sleeps, start } = scriptedIo({ list: [[execution("a", "running"), execution("b", "succeeded"), execution("c", "queued")]] });
    const view = recordingView();
    const outcome = await waitForRun("run_1", launched, io, { deadline: start + 2000, progress: view });
    expect(outcome.finished).toBe(false);
    expect(sleeps).toEqual([500, 500, 500, 500]);
    expect(progressOf(outcome.executions)).toEqual({ total: 3, done: 1, failures: 0 });
    expect(view.stopped).toBe(true);
  });

  it("polls a single execution on its own and hands each poll, output included, to follow", async () => {
    const one = (status: ExecutionStatus, stdout: string) => execution("a", status, { stdout, stderr: "" });
    const { io, calls } = scriptedIo({ one: [one("sent", ""), one("running", "hel"), one("running", "hello\n"), one("succeeded", "hello\nbye\n")] });
    const out: string[] = [];
    const follower = new OutputFollower({ stdout: (t) => out.push(t), stderr: () => {} });
    const outcome = await waitForRun("run_1", [execution("a", "queued")], io, { deadline: Infinity, progress: recordingView(), follow: (e) => follower.push(e) });
    expect(outcome).toMatchObject({ finished: true, executions: [{ id: "a", status: "succeeded", stdout: "hello\nbye\n" }] });
    expect(out.join("")).toBe("hello\nbye\n");
    expect(out).toEqual(["hel", "lo\n", "bye\n"]);
    expect(calls()).toEqual({ list: 0, one: 4 });
    expect(exitStatusOf(outcome.executions)).toBe(0);
  });

  it("returns at once when nothing was launched", async () => {
    const { io, calls } = scriptedIo({});
    const outcome = await waitForRun("run_1", [], io, { deadline: Infinity, progress: recordingView() });
    expect(outcome).toEqual({ executions: [], finished: true });
    expect(calls()).toEqual({ list: 0, one: 0 });
  });
});

describe("what --wait prints", () => {
  it("summarises one row per device: status, exit code and duration", () => {
    const table = renderSummary([execution("a", "succeeded"), execution("b", "timed_out", { durationMs: 120_000 }), execution("c", "failed", { durationMs: 830 })]);
    expect(table.split("\n")).toEqual([
      "DEVICE  STATUS     EXIT CODE  DURATION",
      "dev_a   succeeded          0      1.5s",
      "dev_b   timed_out        124    2m 00s",
      "dev_c   failed             1     830ms",
    ]);
  });

  it("adds an error column only when some execution could not start", () => {
    const table = renderSummary([execution("a", "succeeded"), execution("b", "error", { error: 'no local user "deploy"' })]);
    expect(table.split("\n")[0]).toBe("DEVICE  STATUS     EXIT CODE  DURATION  ERROR");
    expect(table).toContain('no local user "deploy"');
  });

  it("prints progress lines only when a number changes", () => {
    const lines: string[] = [];
    const view = lineView((line) => lines.push(line), "run_1");
    view.update({ total: 3, done: 0, failures: 0 });
    view.update({ total: 3, done: 0, failures: 0 });
    view.update({ total: 3, done: 2, failures: 1 });
    expect(lines).toEqual(["run_1: 0/3 done, 0 failed", "run_1: 2/3 done, 1 failed"]);
  });

  it("says what a launch started and which devices it skipped", () => {
    expect(
      renderLaunch({
        runId: "run_1",
        executions: [execution("a", "queued")],
        skipped: [{ deviceId: "dev_mac", reason: "the device runs darwin, the command is for linux" }],
      }),
    ).toBe("Started run run_1: 1 execution\nSkipped dev_mac: the device runs darwin, the command is for linux");
  });
});
