/** Ending attempts: completion, fencing, retries and backoff. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, LOST, T0 } from "./harness.js";

export function finishingSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("finishing and fencing", () => {
    it("completes with a result and records the attempt", async () => {
      const j = await add({ kind: "k" });
      const [c] = await claim(1, T0 + 10);
      const o = await complete(store, { id: j.id, token: c!.token, result: { ok: 1 }, now: T0 + 50 });
      expect(o).toMatchObject({ ok: true, status: "completed" });
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "completed", result: { ok: 1 }, startedAt: T0 + 10, finishedAt: T0 + 50 });
      expect(await store.jobAttempts({ id: j.id })).toEqual([
        { jobId: j.id, attempt: 1, workerId: "w1", startedAt: T0 + 10, finishedAt: T0 + 50, outcome: "completed", error: null, exitCode: null },
      ]);
    });

    it("keeps a shell job's exit code with the job and with each attempt", async () => {
      const j = await add({ kind: "shell", maxAttempts: 2, backoff: "immediate" });
      let [c] = await claim();
      await store.jobFinishMany({ finishes: [{ id: j.id, token: c!.token, outcome: "failed", error: "exited with code 3", exitCode: 3 }] });
      expect((await store.jobGet({ id: j.id }))!.exitCode).toBe(3);
      [c] = await claim();
      expect(c!.job.exitCode).toBeNull();
      await store.jobFinishMany({ finishes: [{ id: j.id, token: c!.token, outcome: "completed", result: { exitCode: 0 }, exitCode: 0 }], returnJobs: false });
      expect((await store.jobGet({ id: j.id }))!.exitCode).toBe(0);
      expect((await store.jobAttempts({ id: j.id })).map((a) => [a.outcome, a.exitCode])).toEqual([
        ["failed", 3],
        ["completed", 0],
      ]);
    });

    it("a stale token writes nothing: complete, fail, heartbeat, progress, release", async () => {
      const j = await add({ kind: "k", maxAttempts: 3 });
      const [first] = await claim(1, T0, { leaseMs: 100 });
      await store.jobReapExpired({ now: T0 + 200 });
      const [second] = await claim(1, T0 + 300);
      expect(second!.token).not.toBe(first!.token);
      const stale = { id: j.id, token: first!.token };
      expect((await complete(store, { ...stale, result: "late" })).ok).toBe(false);
      expect((await fail(store, { ...stale, error: "late" })).ok).toBe(false);
      expect((await release(store, stale)).ok).toBe(false);
      expect(await store.jobProgress({ ...stale, progress: 99 })).toBe(false);
      expect(await store.jobHeartbeat({ leases: [stale], leaseMs: 1000 })).toEqual([{ id: j.id, ok: false, abort: null }]);
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "running", result: null, error: LOST, progress: null });
      expect((await complete(store, { id: j.id, token: second!.token, result: "mine" })).ok).toBe(true);
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "completed", result: "mine" });
    });

    it("heartbeats extend the lease, so a live job is never reaped", async () => {
      const j = await add({ kind: "k" });
      const [c] = await claim(1, T0, { leaseMs: 1000 });
      for (let t = 500; t <= 5000; t += 500) {
        expect(await store.jobHeartbeat({ leases: [{ id: j.id, token: c!.token }], leaseMs: 1000, now: T0 + t })).toEqual([
          { id: j.id, ok: true, abort: null },
        ]);
        expect(await store.jobReapExpired({ now: T0 + t + 999 })).toEqual({ requeued: [], failed: [], cancelled: [] });
      }
      expect(await status(j.id)).toBe("running");
    });

    it("releases a job back to the queue without spending the attempt", async () => {
      const j = await add({ kind: "k" });
      const [c] = await claim();
      expect(await release(store, { id: j.id, token: c!.token })).toMatchObject({ ok: true, status: "queued" });
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "queued", attempts: 0 });
    });
  });

  describe("retries and backoff", () => {
    async function failTimes(spec: JobSpec, times: number) {
      const j = await add(spec);
      const retryAts: (number | null)[] = [];
      let now = T0;
      for (let i = 0; i < times; i++) {
        const r = await store.jobClaim({ workerId: "w", limit: 1, leaseMs: 1000, now });
        const c = r.jobs[0];
        if (!c) throw new Error(`nothing to claim at attempt ${i + 1}`);
        const o = await fail(store, { id: j.id, token: c.token, error: `boom ${i + 1}`, now });
        retryAts.push(o.retryAt === null ? null : o.retryAt - now);
        now = o.retryAt ?? now;
      }
      return { id: j.id, waits: retryAts };
    }

    it("immediate", async () => {
      const { id, waits } = await failTimes({ kind: "k", maxAttempts: 3, backoff: "immediate" }, 3);
      expect(waits).toEqual([0, 0, null]);
      expect(await store.jobGet({ id })).toMatchObject({ status: "failed", attempts: 3, error: "boom 3" });
    });
    it("linear", async () => {
      expect((await failTimes({ kind: "k", maxAttempts: 4, backoff: "linear:100" }, 4)).waits).toEqual([100, 200, 300, null]);
    });
    it("exponential, with its cap", async () => {
      expect((await failTimes({ kind: "k", maxAttempts: 6, backoff: "exponential:100:500" }, 6)).waits).toEqual([100, 200, 400, 500, 500, null]);
    });
    it("fibonacci", async () => {
      expect((await failTimes({ kind: "k", maxAttempts: 6, backoff: { strategy: "fibonacci", base: 10 } }, 6)).waits).toEqual([10, 10, 20, 30, 50, null]);
    });
    it("a waiting retry is scheduled until its time, and records each attempt", async () => {
      const j = await add({ kind: "k", maxAttempts: 2, backoff: "linear:1s" });
      const [c] = await claim();
      await fail(store, { id: j.id, token: c!.token, error: "x", now: T0 });
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "scheduled", runAt: T0 + 1000, error: "x" });
      expect(await claim(1, T0 + 999)).toHaveLength(0);
      expect(await claim(1, T0 + 1000)).toHaveLength(1);
      expect((await store.jobAttempts({ id: j.id })).map((a) => a.outcome)).toEqual(["failed"]);
    });
    it("a non-retryable failure ends the job at once", async () => {
      const j = await add({ kind: "k", maxAttempts: 5 });
      const [c] = await claim();
      expect(await fail(store, { id: j.id, token: c!.token, error: "bad input", retryable: false })).toMatchObject({ status: "failed" });
    });
  });
}
