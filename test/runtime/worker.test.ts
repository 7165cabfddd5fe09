import { fork } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type Job, PermanentFailure, type Runway, open } from "../../src/index.js";
import type { RunwayEvents } from "../../src/runtime/events.js";
import { tempDir } from "../helpers/tmp.js";

const open_: Runway[] = [];
const cleanups: (() => void)[] = [];

function fresh(opts: { pollIntervalMs?: number } = {}) {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const db = join(tmp.dir, "runway.db");
  const rw = open({ db, ...opts });
  rw.on("warning", () => {});
  open_.push(rw);
  return { rw, db };
}

afterEach(async () => {
  for (const rw of open_.splice(0)) await rw.close();
  for (const c of cleanups.splice(0)) c();
});

function next<E extends keyof RunwayEvents>(rw: Runway, event: E, where: (p: RunwayEvents[E]) => boolean = () => true) {
  return new Promise<RunwayEvents[E]>((resolve) => {
    const fn = (p: RunwayEvents[E]) => {
      if (!where(p)) return;
      rw.off(event, fn);
      resolve(p);
    };
    rw.on(event, fn);
  });
}

async function waitStatus(rw: Runway, id: string, status: Job["status"], timeoutMs = 10_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = (await rw.get(id))!;
    if (j.status === status) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${j.status}, expected ${status}`);
    await sleep(10);
  }
}

describe("worker", () => {
  it("runs handlers by kind and reports completion with the result", async () => {
    const { rw } = fresh();
    rw.worker({ handlers: { double: async (job: Job<{ n: number }>) => job.payload.n * 2 } });
    const done = next(rw, "completed");
    const job = await rw.add("double", { n: 21 });
    const ev = await done;
    expect(ev.job.id).toBe(job.id);
    expect(ev.result).toBe(42);
    expect(await rw.get(job.id)).toMatchObject({ status: "completed", result: 42, attempts: 1 });
  });

  it("starts a job added in the same process at once, without waiting for a poll", async () => {
    const { rw } = fresh({ pollIntervalMs: 60_000 });
    rw.worker({ handlers: { k: async () => {} } });
    await sleep(50);
    const started = next(rw, "started");
    const t0 = performance.now();
    await rw.add("k", null);
    await started;
    // The poll is a minute and the safety net a second: only the in-process wake-up is this quick.
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("starts a job added by another process within the poll interval", async () => {
    const { rw, db } = fresh({ pollIntervalMs: 50 });
    rw.worker({ handlers: { work: async () => {} } });
    await sleep(50);
    const started = next(rw, "started");
    const child = fork(join(import.meta.dirname, "../fixtures/add-process.mjs"), [db, "k1", "1"], { stdio: "ignore" });
    const exited = new Promise((r) => child.once("exit", r));
    const ev = await started;
    const latency = Date.now() - ev.job.createdAt;
    await exited;
    // Well under the one-second safety net: the data_version poll found it.
    expect(latency).toBeLessThan(500);
  });

  it("runs in priority order, one at a time by default", async () => {
    const { rw } = fresh();
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    await rw.addMany([
      { kind: "k", payload: "low", priority: "low" },
      { kind: "k", payload: "normal" },
      { kind: "k", payload: "critical", priority: "critical" },
      { kind: "k", payload: "high", priority: "P2" },
    ]);
    const drained = next(rw, "drained");
    rw.worker({
      concurrency: 4,
      handlers: {
        k: async (job: Job<string>) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          order.push(job.payload);
          await sleep(5);
          running--;
        },
      },
    });
    expect(await drained).toEqual({ queue: "default" });
    expect(order).toEqual(["critical", "high", "normal", "low"]);
    expect(maxRunning).toBe(1);
  });

  it("retries with backoff, then escalates, emitting retrying and escalated", async () => {
    const { rw } = fresh();
    await rw.escalate({ kind: "aider", after: 2, toKind: "codex" });
    const events: string[] = [];
    rw.on("retrying", ({ job }) => events.push(`retrying ${job.kind}`));
    rw.on("escalated", ({ job }) => events.push(`escalated ${job.kind}`));
    rw.on("completed", ({ job }) => events.push(`completed ${job.kind}`));
    const added: Job[] = [];
    rw.on("added", ({ job }) => added.push(job));
    const drained = next(rw, "drained");
    const job = await rw.add("aider", { task: "t" }, { maxAttempts: 5, backoff: "exponential:20ms" });
    rw.worker({
      handlers: {
        aider: async () => {
          throw new Error("aider gave up");
        },
        codex: async (j: Job<{ task: string }>) => `done ${j.payload.task}`,
      },
    });
    await drained;
    expect(events).toEqual(["retrying aider", "escalated aider", "completed codex"]);
    expect(added.map((j) => j.kind)).toEqual(["aider", "codex"]);
    const chain = await rw.chain(job.id);
    expect(chain.map((j) => [j.kind, j.status])).toEqual([
      ["aider", "failed"],
      ["codex", "completed"],
    ]);
    expect((await rw.attempts(job.id)).map((a) => a.error)).toEqual(["aider gave up", "aider gave up"]);
  });

  it("announces cancels and skips of jobs that never ran, and a queue they leave drained", async () => {
    const { rw } = fresh();
    const [a, b] = await rw.addMany([{ kind: "k", queue: "q" }, { kind: "k", queue: "q", delay: "1h" }]);
    const events: string[] = [];
    rw.on("cancelled", ({ job }) => events.push(`cancelled ${job.id}`));
    rw.on("skipped", ({ job }) => events.push(`skipped ${job.id}`));
    rw.on("drained", ({ queue }) => events.push(`drained ${queue}`));
    await rw.cancel(a!.id);
    await rw.skip(b!.id);
    expect(events).toEqual([`cancelled ${a!.id}`, `skipped ${b!.id}`, "drained q"]);
  });

  it("a PermanentFailure ends the job without using its remaining attempts", async () => {
    const { rw } = fresh();
    rw.worker({
      handlers: {
        k: async () => {
          throw new PermanentFailure("bad input");
        },
      },
    });
    const failed = next(rw, "failed");
    const job = await rw.add("k", null, { maxAttempts: 5 });
    expect((await failed).error).toBe("bad input");
    expect(await rw.get(job.id)).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("cancelling a running job fires its AbortSignal and ends it cancelled", async () => {
    const { rw } = fresh();
    let aborted: unknown = null;
    rw.worker({
      handlers: {
        slow: async (_job, ctx) => {
          try {
            await sleep(30_000, undefined, { signal: ctx.signal });
          } catch (err) {
            aborted = ctx.signal.reason;
            throw err;
          }
        },
      },
    });
    const started = next(rw, "started");
    const job = await rw.add("slow", null);
    await started;
    const cancelled = next(rw, "cancelled");
    expect((await rw.cancel(job.id)).status).toBe("running");
    await cancelled;
    expect(String(aborted)).toMatch(/cancelled/);
    expect(await rw.get(job.id)).toMatchObject({ status: "cancelled" });
  });

  it("a signal first read after the cancel is already aborted, and destructured helpers stay bound", async () => {
    const { rw } = fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: { aborted?: boolean; reason?: string; attempt?: number } = {};
    rw.worker({
      handlers: {
        late: async (_job, ctx) => {
          const { log, progress, attempt, workerId } = ctx;
          log("before the cancel");
          await progress({ step: 1 });
          await gate;
          // Never touched until now: the context must still know about the cancel.
          const signal = ctx.signal;
          seen.aborted = signal.aborted;
          seen.reason = String(signal.reason);
          seen.attempt = attempt;
          expect(workerId).toMatch(/./);
          throw signal.reason;
        },
      },
    });
    const started = next(rw, "started");
    const job = await rw.add("late", null);
    await started;
    for (let i = 0; i < 200 && (await rw.get(job.id))?.progress === null; i++) await sleep(20);
    const cancelled = next(rw, "cancelled");
    await rw.cancel(job.id);
    // The worker notices the cancel through its lease check; give it that long before reading the signal.
    await sleep(400);
    release();
    await cancelled;
    expect(seen).toEqual({ aborted: true, reason: expect.stringMatching(/cancelled/), attempt: 1 });
    expect((await rw.get(job.id))?.progress).toEqual({ step: 1 });
  });

  it("a timeout aborts the attempt and fails it, naming the limit", async () => {
    const { rw } = fresh();
    rw.worker({ handlers: { slow: (_job, ctx) => sleep(30_000, undefined, { signal: ctx.signal }) } });
    const failed = next(rw, "failed");
    const job = await rw.add("slow", null, { timeout: "100ms" });
    expect((await failed).error).toBe("timed out after 100ms");
    expect((await rw.get(job.id))!.status).toBe("failed");
  });

  it("progress and log lines are kept with the job and emitted", async () => {
    const { rw } = fresh();
    const lines: string[] = [];
    rw.on("log", ({ line }) => lines.push(line));
    rw.worker({
      handlers: {
        k: async (_job, ctx) => {
          ctx.log("step 1");
          await ctx.progress({ done: 1, of: 2 });
          ctx.log("step 2");
          return "ok";
        },
      },
    });
    const done = next(rw, "completed");
    const job = await rw.add("k", null);
    await done;
    expect(lines).toEqual(["step 1", "step 2"]);
    expect((await rw.logs(job.id)).map((l) => l.line)).toEqual(["step 1", "step 2"]);
    expect((await rw.get(job.id))!.progress).toEqual({ done: 1, of: 2 });
  });

  it("stopping a queue puts its running job back; resuming runs it again", async () => {
    const { rw } = fresh();
    let runs = 0;
    rw.worker({
      handlers: {
        k: async (_job, ctx) => {
          runs++;
          if (runs === 1) await sleep(30_000, undefined, { signal: ctx.signal });
        },
      },
    });
    const started = next(rw, "started");
    const job = await rw.add("k", null);
    await started;
    await rw.stop("default");
    await waitStatus(rw, job.id, "queued");
    expect((await rw.get(job.id))!.attempts).toBe(0);
    await sleep(100);
    expect(runs).toBe(1);
    const done = next(rw, "completed");
    await rw.resume("default");
    await done;
    expect(runs).toBe(2);
  });

  it("a paused queue keeps its jobs until resumed", async () => {
    const { rw } = fresh();
    await rw.queue("p");
    await rw.pause("p");
    rw.worker({ handlers: { k: async () => {} } });
    const job = await rw.add("k", null, { queue: "p" });
    await sleep(150);
    expect((await rw.get(job.id))!.status).toBe("queued");
    const done = next(rw, "completed");
    await rw.resume("p");
    await done;
  });

  it("graceful shutdown lets quick jobs finish and puts the slow one back", async () => {
    const { rw } = fresh();
    await rw.queue("default", { concurrency: null });
    const w = rw.worker({
      concurrency: 2,
      handlers: {
        quick: () => sleep(50),
        slow: (_job, ctx) => sleep(30_000, undefined, { signal: ctx.signal }),
      },
    });
    const [quick, slow] = await rw.addMany([{ kind: "quick" }, { kind: "slow" }]);
    await waitStatus(rw, slow!.id, "running");
    await w.stop({ graceMs: 300 });
    expect((await rw.get(quick!.id))!.status).toBe("completed");
    expect(await rw.get(slow!.id)).toMatchObject({ status: "queued", attempts: 0 });
    expect((await rw.attempts(slow!.id)).map((a) => a.outcome)).toEqual(["released"]);
  });

  it("a second stop does not wait, even for a handler that ignores its signal", async () => {
    const { rw } = fresh();
    const w = rw.worker({ shutdownGraceMs: 60_000, handlers: { stubborn: () => sleep(5_000) } });
    const job = await rw.add("stubborn", null);
    await waitStatus(rw, job.id, "running");
    const first = w.stop();
    await sleep(50);
    const t0 = Date.now();
    await w.stop({ force: true });
    await first;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await rw.get(job.id))!.status).toBe("queued");
  });

  it("a worker that lost its lease stops the attempt and writes nothing", async () => {
    const { rw } = fresh();
    let signalled = false;
    rw.worker({
      leaseMs: 200,
      heartbeatMs: 50,
      reaperIntervalMs: 60_000,
      shutdownGraceMs: 100,
      handlers: {
        k: async (_job, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
          signalled = true;
          return "too late";
        },
      },
    });
    const job = await rw.add("k", null, { maxAttempts: 3 });
    await waitStatus(rw, job.id, "running");
    // The reaper of another process, running as if the lease had expired, takes the job back;
    // this worker then claims it afresh under a new token.
    await rw.store.jobReapExpired({ now: Date.now() + 1000 });
    await waitStatus(rw, job.id, "running");
    const deadline = Date.now() + 3000;
    while (!signalled && Date.now() < deadline) await sleep(10);
    expect(signalled).toBe(true);
    const j = (await rw.get(job.id))!;
    expect(j.result).not.toBe("too late");
  });

  it("with prefetch, runs a buffer of claimed jobs in order, cancels one that has not started, and releases the rest on stop", async () => {
    const { rw } = fresh();
    await rw.queue("default", { concurrency: null });
    const order: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const jobs = await rw.addMany(Array.from({ length: 8 }, (_, i) => ({ kind: "k", payload: i })));
    const w = rw.worker({
      concurrency: 1,
      prefetch: 4,
      shutdownGraceMs: 100,
      handlers: {
        k: async (job: Job<number>, ctx) => {
          order.push(job.payload);
          if (job.payload === 2) await sleep(30_000, undefined, { signal: ctx.signal });
          else if (job.payload === 0) await gate;
        },
      },
    });
    // Job 0 runs, jobs 1..4 wait in the buffer (running in the store, not started).
    await waitStatus(rw, jobs[4]!.id, "running");
    expect(order).toEqual([0]);
    const cancelled = next(rw, "cancelled", ({ job }) => job.id === jobs[3]!.id);
    await rw.cancel(jobs[3]!.id);
    await cancelled;
    release();
    for (let i = 0; i < 200 && !order.includes(2); i++) await sleep(10);
    await w.stop();
    expect(order).toEqual([0, 1, 2]);
    expect((await rw.get(jobs[3]!.id))!.status).toBe("cancelled");
    expect((await rw.attempts(jobs[3]!.id)).map((a) => a.outcome)).toEqual(["cancelled"]);
    // Everything claimed but never run went back to the queue, unspent.
    const back = await rw.list({ status: ["queued"] });
    expect(back.map((j) => j.payload)).toEqual([2, 4, 5, 6, 7]);
    expect(back.every((j) => j.attempts === 0)).toBe(true);
  });

  it("only claims kinds it has handlers for", async () => {
    const { rw } = fresh();
    await rw.queue("default", { concurrency: null });
    rw.worker({ handlers: { mine: async () => {} } });
    const done = next(rw, "completed");
    const [theirs, mine] = await rw.addMany([{ kind: "theirs" }, { kind: "mine" }]);
    await done;
    expect((await rw.get(mine!.id))!.status).toBe("completed");
    expect((await rw.get(theirs!.id))!.status).toBe("queued");
  });
});
