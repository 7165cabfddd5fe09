/** The lifecycle without a database: every transition's plan, and every refusal's message. */
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../src/core/errors.js";
import type { EscalationRule, JobStatus } from "../../src/core/job.js";
import { jobFromNew } from "../../src/core/job-from-new.js";
import {
  LOST_ERROR,
  type StoredJob,
  checkMoveBeside,
  checkMovable,
  outcomeOf,
  planCancel,
  planFinish,
  planReap,
  planRequeue,
  planReskip,
  planSkip,
  positionAtTop,
  positionBeside,
  reapReadsLossHistory,
  spreadPositions,
} from "../../src/core/lifecycle/index.js";
import { prepareJobs } from "../../src/core/spec.js";

const NOW = 1_700_000_000_000;

function job(fields: Partial<StoredJob> = {}, spec: Record<string, unknown> = {}): StoredJob {
  const [n] = prepareJobs([{ kind: "k", ...spec }], NOW);
  const base = jobFromNew(n!, { status: "queued", position: 1, now: NOW, dependsOn: [], reason: null });
  return { ...base, abortRequested: null, skippedBy: null, ...fields };
}

const running = (fields: Partial<StoredJob> = {}, spec: Record<string, unknown> = {}) =>
  job({ status: "running", attempts: 1, attempt: 1, workerId: "w1", startedAt: NOW - 100, ...fields }, spec);

const ok = { id: "x", token: 1 };
const noRules = { rules: [] as EscalationRule[], now: NOW };

describe("ending an attempt", () => {
  it("completes: the result is kept, the lease ends, dependents are looked at; the attempt stays on the job", () => {
    const j = running();
    const plan = planFinish(j, { ...ok, id: j.id, outcome: "completed", result: { n: 1 } }, noRules);
    expect(plan.patch).toMatchObject({ status: "completed", resultJson: '{"n":1}', finishedAt: NOW, endLease: true, error: null });
    expect(plan.attempt).toBeNull();
    expect(plan.downstream).toEqual({ action: "unblock" });
    expect(outcomeOf(plan, "running")).toEqual({ status: "completed", retryAt: null, escalatedTo: null });
  });

  it("retries a failure after the backoff, recording the attempt under its own number", () => {
    const j = running({ attempts: 1, attempt: 4 }, { maxAttempts: 3, backoff: "linear:1s" });
    const plan = planFinish(j, { ...ok, id: j.id, outcome: "failed", error: "boom" }, noRules);
    expect(plan.patch).toMatchObject({ status: "scheduled", runAt: NOW + 1000, error: "boom", endLease: true });
    expect(plan.attempt).toMatchObject({ attempt: 4, outcome: "failed", error: "boom", workerId: "w1", startedAt: NOW - 100, finishedAt: NOW });
    expect(outcomeOf(plan, "running").retryAt).toBe(NOW + 1000);
  });

  it("fails for good when attempts run out or the error is permanent, skipping everything downstream", () => {
    const spent = running({ attempts: 3 }, { maxAttempts: 3 });
    const plan = planFinish(spent, { ...ok, id: spent.id, outcome: "failed", error: "boom" }, noRules);
    expect(plan.patch).toMatchObject({ status: "failed", error: "boom", reason: null, finishedAt: NOW });
    expect(plan.downstream).toEqual({ action: "skip", root: spent.id, reason: `upstream job ${spent.id} failed` });
    const permanent = running({}, { maxAttempts: 5 });
    expect(planFinish(permanent, { ...ok, id: permanent.id, outcome: "failed", error: "bad", retryable: false }, noRules).patch.status).toBe("failed");
  });

  it("escalates to the rule's queue or kind with the same payload, and re-points dependents at the successor", () => {
    const j = running({ attempts: 2, target: "lab" }, { kind: "aider", payload: { task: 7 }, maxAttempts: 5, key: "t7", name: "task 7" });
    const rule: EscalationRule = { queue: null, kind: "aider", after: 2, toQueue: null, toKind: "codex" };
    const plan = planFinish(j, { ...ok, id: j.id, outcome: "failed", error: "stuck" }, { rules: [rule], now: NOW });
    const s = plan.successor!;
    expect(s).toMatchObject({ kind: "codex", queue: j.queue, payloadJson: '{"task":7}', escalatedFrom: j.id, key: "t7", name: "task 7", runAt: NOW });
    // A successor of another kind runs where its handler is, not on the shell target.
    expect(s.target).toBeNull();
    expect(plan.patch).toMatchObject({ status: "failed", escalatedTo: s.id, reason: `escalated to ${s.id} (codex on default) after 2 failed attempts` });
    expect(plan.downstream).toEqual({ action: "repoint", to: s.id });
    expect(outcomeOf(plan, "running")).toEqual({ status: "failed", retryAt: null, escalatedTo: s.id });
  });

  it("a cancel asked for while running wins over a failure, and a stopped queue puts the job back uncounted", () => {
    const c = running({ abortRequested: "cancel" });
    const cancelled = planFinish(c, { ...ok, id: c.id, outcome: "failed", error: "aborted" }, noRules);
    expect(cancelled.patch).toMatchObject({ status: "cancelled", error: "aborted", reason: "cancelled by request" });
    expect(cancelled.attempt?.outcome).toBe("cancelled");
    const r = running({ abortRequested: "requeue", attempts: 2, attempt: 2 });
    const released = planFinish(r, { ...ok, id: r.id, outcome: "failed", error: "aborted" }, noRules);
    expect(released.patch).toMatchObject({ status: "queued", attempts: 1, workerId: null, startedAt: null });
    // The attempt number is not given back: the next attempt is number 3.
    expect(released.patch.attempt).toBeUndefined();
    expect(released.attempt).toMatchObject({ attempt: 2, outcome: "released" });
  });

  it("a release keeps the number only for a run still open on a target, which the next lane adopts", () => {
    const j = running({ attempts: 2, attempt: 5, remote: { runId: "r", attempt: 5, launchedAt: NOW } });
    const plan = planFinish(j, { ...ok, id: j.id, outcome: "released" }, noRules);
    expect(plan.patch).toMatchObject({ attempts: 1, attempt: 4 });
  });
});

describe("the reaper", () => {
  it("puts a job back for free the first time its worker dies, and counts the second", () => {
    const first = planReap(running(), { lostBefore: false, ...noRules });
    expect(first.patch).toMatchObject({ status: "queued", attempts: 0, error: LOST_ERROR });
    expect(first.attempt).toMatchObject({ outcome: "lost", error: LOST_ERROR });
    const second = planReap(running({ attempts: 1 }, { maxAttempts: 3, backoff: "exponential:1m" }), { lostBefore: true, ...noRules });
    // Without backoff: the job did nothing wrong that waiting would fix.
    expect(second.patch).toMatchObject({ status: "queued", runAt: NOW, error: LOST_ERROR });
    expect(second.attempt?.outcome).toBe("lost");
    const last = planReap(running({ attempts: 3 }, { maxAttempts: 3 }), { lostBefore: true, ...noRules });
    expect(last.patch.status).toBe("failed");
  });

  it("a run still open on its target costs nothing however often its watcher died", () => {
    const j = running({ attempt: 2, remote: { runId: "r", attempt: 2, launchedAt: NOW } });
    expect(planReap(j, { lostBefore: true, ...noRules }).patch.status).toBe("queued");
  });

  it("asks the store for the job's loss history only when the decision depends on it", () => {
    expect(reapReadsLossHistory(running())).toBe(true);
    expect(reapReadsLossHistory(running({ abortRequested: "cancel" }))).toBe(false);
    expect(reapReadsLossHistory(running({ attempt: 2, remote: { runId: "r", attempt: 2, launchedAt: NOW } }))).toBe(false);
  });

  it("honours a pending cancel or stop", () => {
    expect(planReap(running({ abortRequested: "cancel" }), { lostBefore: false, ...noRules }).patch).toMatchObject({ status: "cancelled", error: "cancelled" });
    expect(planReap(running({ abortRequested: "requeue" }), { lostBefore: true, ...noRules }).attempt?.outcome).toBe("released");
  });
});

describe("steering", () => {
  it("cancels a waiting job at once and asks a running one to stop", () => {
    const w = job();
    expect(planCancel(w, { now: NOW })).toMatchObject({
      patch: { status: "cancelled", reason: "cancelled by request", finishedAt: NOW },
      downstream: { action: "skip", root: w.id, reason: `upstream job ${w.id} cancelled` },
    });
    expect(planCancel(running(), { now: NOW })).toMatchObject({ patch: { abortRequested: "cancel" }, downstream: null });
    const done = job({ status: "completed" });
    expect(() => planCancel(done, { now: NOW })).toThrow(new ConflictError(`job ${done.id} is completed; only queued, scheduled, blocked or running jobs can be cancelled`));
  });

  it("skips only what has not started, and says what to do instead", () => {
    const w = job({ status: "blocked" });
    expect(planSkip(w, { reason: "not today", now: NOW }).patch).toMatchObject({ status: "skipped", reason: "not today", skippedBy: null });
    const r = running();
    expect(() => planSkip(r, { now: NOW })).toThrow(`job ${r.id} is running; only queued, scheduled or blocked jobs can be skipped (cancel a running job instead)`);
  });

  it("requeues with a fresh budget but keeps the attempt numbers going", () => {
    const f = job({ status: "failed", attempts: 3, attempt: 3, error: "boom", finishedAt: NOW - 5 });
    const plan = planRequeue(f, { targetExists: true, deps: [], now: NOW });
    expect(plan.patch).toMatchObject({ status: "queued", attempts: 0, runAt: NOW, error: null, finishedAt: null });
    expect(plan.patch.attempt).toBeUndefined();
    expect(plan.downstream).toEqual({ action: "unskip" });
    const waiting = planRequeue(f, { targetExists: true, deps: [{ id: "up", status: "running", skippedBy: null }], now: NOW });
    expect(waiting.patch.status).toBe("blocked");
  });

  it("refuses a requeue that could never run, naming what to do", () => {
    const queued = job();
    expect(() => planRequeue(queued, { targetExists: true, deps: [], now: NOW })).toThrow(/only failed, cancelled or skipped jobs can be requeued/);
    const gone = job({ status: "failed", target: "lab" });
    expect(() => planRequeue(gone, { targetExists: false, deps: [], now: NOW })).toThrow(NotFoundError);
    const f = job({ status: "skipped" });
    const deps = [{ id: "mid", status: "skipped" as JobStatus, skippedBy: "root" }];
    expect(() => planRequeue(f, { targetExists: true, deps, now: NOW })).toThrow(`job ${f.id} depends on mid, which is skipped; requeue root first and this job follows`);
  });

  it("re-skips an un-skipped job whose other dependency is still doomed", () => {
    expect(planReskip({ id: "d" }, { deps: [{ id: "a", status: "completed", skippedBy: null }], now: NOW })).toBeNull();
    const plan = planReskip({ id: "d" }, { deps: [{ id: "b", status: "cancelled", skippedBy: null }], now: NOW });
    expect(plan).toMatchObject({ patch: { status: "skipped", skippedBy: "b", reason: "upstream job b cancelled" }, downstream: { action: "skip", root: "d" } });
  });

  it("moves only waiting jobs, within one queue, between neighbours", () => {
    expect(() => checkMovable(running())).toThrow(/only jobs that have not started can be moved/);
    const a = job();
    expect(() => checkMoveBeside(a, a)).toThrow(new ValidationError("to", "a job cannot be moved relative to itself"));
    expect(() => checkMoveBeside(a, job({ id: "other", queue: "q2" }))).toThrow(/is in queue q2, not default; move within one queue/);
    expect(positionAtTop(10, 4)).toBe(3);
    expect(positionAtTop(10, null)).toBe(9);
    expect(positionBeside(10, 20, false)).toBe(15);
    expect(positionBeside(10, null, true)).toBe(9);
    // A gap too narrow to split asks for the queue to be spread out first.
    expect(positionBeside(1, 1 + Number.EPSILON, false)).toBeNull();
    expect(spreadPositions([5, 5, 5, 9])).toEqual([5, 6.333333333333333, 7.666666666666666, 9]);
    expect(spreadPositions([2, 2, 2])).toEqual([2, 3, 4]);
  });
});
