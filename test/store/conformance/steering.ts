/** Steering: move, queue controls, cancel, skip, requeue. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function steeringSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("moving", () => {
    it("moves a job to the top, the bottom, before or after another", async () => {
      await unlimited();
      const [a, b, c, d] = await addMany([{ kind: "k" }, { kind: "k" }, { kind: "k" }, { kind: "k", priority: "high" }]);
      const order = async () => (await store.jobList({ status: ["queued"] })).map((j) => j.id);
      expect(await order()).toEqual([d!.id, a!.id, b!.id, c!.id]);
      await store.jobMove({ id: c!.id, to: "top" });
      expect(await order()).toEqual([d!.id, c!.id, a!.id, b!.id]);
      await store.jobMove({ id: c!.id, to: "bottom" });
      expect(await order()).toEqual([d!.id, a!.id, b!.id, c!.id]);
      await store.jobMove({ id: c!.id, to: { before: b!.id } });
      expect(await order()).toEqual([d!.id, a!.id, c!.id, b!.id]);
      await store.jobMove({ id: a!.id, to: { after: b!.id } });
      expect(await order()).toEqual([d!.id, c!.id, b!.id, a!.id]);
      // Before a job of another priority: it takes that priority, so it runs right before it.
      const moved = await store.jobMove({ id: a!.id, to: { before: d!.id } });
      expect(moved.priority).toBe("high");
      expect(await order()).toEqual([a!.id, d!.id, c!.id, b!.id]);
      expect((await claim(10)).map((x) => x.job.id)).toEqual([a!.id, d!.id, c!.id, b!.id]);
    });

    it("keeps order through many moves into the same gap", async () => {
      await unlimited();
      const jobs = await addMany(Array.from({ length: 3 }, () => ({ kind: "k" })));
      const [first, , last] = jobs;
      // Each move halves the gap; past ~50 halvings the store must renumber.
      for (let i = 0; i < 80; i++) {
        const mover = i % 2 === 0 ? last! : jobs[1]!;
        await store.jobMove({ id: mover.id, to: { after: first!.id } });
      }
      const order = (await store.jobList({ status: ["queued"] })).map((j) => j.id);
      expect(order[0]).toBe(first!.id);
      expect(order[1]).toBe(jobs[1]!.id);
      expect(new Set(order).size).toBe(3);
    });

    it("refuses to move a running job or across queues", async () => {
      const a = await add({ kind: "k" });
      const b = await add({ kind: "k", queue: "other" });
      await expect(store.jobMove({ id: a.id, to: { before: b.id } })).rejects.toThrow(ValidationError);
      await claim();
      await expect(store.jobMove({ id: a.id, to: "top" })).rejects.toThrow(ConflictError);
      await expect(store.jobMove({ id: "missing", to: "top" })).rejects.toThrow(NotFoundError);
    });
  });

  describe("queue controls", () => {
    it("pause stops new claims, resume lets them through, and the state persists", async () => {
      await addMany([{ kind: "k" }, { kind: "k" }]);
      await store.queueSetState({ queue: "default", state: "paused" });
      expect(await claim()).toHaveLength(0);
      const other = await h.reopen();
      extra.push(other);
      expect((await other.queueGet({ queue: "default" }))!.state).toBe("paused");
      await store.queueSetState({ queue: "default", state: "running" });
      expect(await claim()).toHaveLength(1);
    });

    it("stop asks running attempts to stop and their jobs return to the queue", async () => {
      const j = await add({ kind: "k" });
      const [c] = await claim();
      await store.queueSetState({ queue: "default", state: "stopped" });
      expect(await store.jobLeaseCheck({ leases: [{ id: j.id, token: c!.token }] })).toEqual([{ id: j.id, ok: true, abort: "requeue" }]);
      // The worker honours it by releasing; even a failure report becomes a release.
      expect(await fail(store, { id: j.id, token: c!.token, error: "aborted" })).toMatchObject({ status: "queued" });
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "queued", attempts: 0 });
      expect(await claim()).toHaveLength(0);
      await store.queueSetState({ queue: "default", state: "running" });
      expect(await claim()).toHaveLength(1);
    });

    it("a control call on a queue that does not exist is refused by name", async () => {
      await expect(store.queueSetState({ queue: "ghost", state: "paused" })).rejects.toThrow(/queue "ghost" does not exist/);
      await expect(store.queueSetConcurrency({ queue: "ghost", concurrency: 2 })).rejects.toThrow(NotFoundError);
      await expect(store.queueStats({ queue: "ghost" })).rejects.toThrow(NotFoundError);
      await store.queueEnsure({ queue: "real" });
      await expect(store.queueSetState({ queue: "real", state: "sleeping" as never })).rejects.toThrow(/running, paused or stopped/);
      await expect(store.queueSetConcurrency({ queue: "real", concurrency: 0 })).rejects.toThrow(ValidationError);
    });
  });

  describe("cancel, skip, requeue", () => {
    it("cancels a queued job at once and asks a running one to stop", async () => {
      await unlimited();
      const [a, b] = await addMany([{ kind: "k" }, { kind: "k" }]);
      const [c] = await claim(1);
      expect((await store.jobCancel({ id: b!.id })).status).toBe("cancelled");
      const running = await store.jobCancel({ id: a!.id });
      expect(running.status).toBe("running");
      expect(await store.jobLeaseCheck({ leases: [{ id: a!.id, token: c!.token }] })).toEqual([{ id: a!.id, ok: true, abort: "cancel" }]);
      expect(await fail(store, { id: a!.id, token: c!.token, error: "aborted" })).toMatchObject({ status: "cancelled" });
      expect((await store.jobAttempts({ id: a!.id }))[0]!.outcome).toBe("cancelled");
      await expect(store.jobCancel({ id: a!.id })).rejects.toThrow(ConflictError);
    });

    it("a running job cancelled whose worker died ends cancelled when the lease runs out", async () => {
      const j = await add({ kind: "k", maxAttempts: 5 });
      await claim(1, T0, { leaseMs: 100 });
      await store.jobCancel({ id: j.id });
      expect((await store.jobReapExpired({ now: T0 + 200 })).cancelled).toEqual([j.id]);
    });

    it("skip is for jobs that have not started; requeue for failed, cancelled or skipped ones", async () => {
      const [a, b] = await addMany([{ kind: "k" }, { kind: "k" }]);
      const [c] = await claim(1);
      await expect(store.jobSkip({ id: a!.id })).rejects.toThrow(/cancel a running job instead/);
      await complete(store, { id: a!.id, token: c!.token });
      await expect(store.jobSkip({ id: a!.id })).rejects.toThrow(/completed/);
      await expect(store.jobRequeue({ id: a!.id })).rejects.toThrow(/only failed, cancelled or skipped/);
      expect((await store.jobSkip({ id: b!.id })).status).toBe("skipped");
      expect((await store.jobRequeue({ id: b!.id })).status).toBe("queued");
      await expect(store.jobCancel({ id: "nope" })).rejects.toThrow(NotFoundError);
    });

    it("a requeue gives a fresh budget, but attempt numbers carry on: history never repeats a number", async () => {
      const j = await add({ kind: "k", maxAttempts: 1 });
      for (let round = 1; round <= 3; round++) {
        const [c] = await claim(1, T0 + round * 10);
        expect(c!.job).toMatchObject({ attempt: round, attempts: 1 });
        if (round < 3) {
          expect(await fail(store, { id: j.id, token: c!.token, error: `boom ${round}`, now: T0 + round * 10 + 1 })).toMatchObject({ status: "failed" });
          expect(await store.jobRequeue({ id: j.id, now: T0 + round * 10 + 2 })).toMatchObject({ status: "queued", attempts: 0, attempt: round });
        } else {
          await complete(store, { id: j.id, token: c!.token, now: T0 + 35 });
        }
      }
      const history = await store.jobAttempts({ id: j.id });
      expect(history.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
        [1, "failed", "boom 1"],
        [2, "failed", "boom 2"],
        [3, "completed", null],
      ]);
    });

    it("a released attempt is not counted against the budget, and the next attempt has a number of its own", async () => {
      const j = await add({ kind: "k", maxAttempts: 1 });
      const [first] = await claim(1, T0);
      await release(store, { id: j.id, token: first!.token, now: T0 + 1 });
      const [second] = await claim(1, T0 + 2);
      expect(second!.job).toMatchObject({ attempt: 2, attempts: 1 });
      await complete(store, { id: j.id, token: second!.token, now: T0 + 3 });
      expect((await store.jobAttempts({ id: j.id })).map((a) => [a.attempt, a.outcome])).toEqual([
        [1, "released"],
        [2, "completed"],
      ]);
    });

    it("requeue refuses when the job's unique key is now held by another job", async () => {
      const a = await add({ kind: "k", key: "K" });
      await store.jobCancel({ id: a.id });
      const b = await add({ kind: "k", key: "K" });
      await expect(store.jobRequeue({ id: a.id })).rejects.toThrow(new RegExp(`held by job ${b.id}`));
      expect(await status(a.id)).toBe("cancelled");
    });
  });
}
