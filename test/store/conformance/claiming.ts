/** Claiming: order, limits, leases and tokens. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function claimingSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("claiming", () => {
    it("claims by priority, then position (FIFO), then id", async () => {
      await unlimited();
      const low = await add({ kind: "k", priority: "low" });
      const n1 = await add({ kind: "k" });
      const crit = await add({ kind: "k", priority: "critical" });
      const n2 = await add({ kind: "k", priority: "normal" });
      const high = await add({ kind: "k", priority: "P2" });
      const got = await claim(10);
      expect(got.map((c) => c.job.id)).toEqual([crit.id, high.id, n1.id, n2.id, low.id]);
      expect(got.every((c) => c.job.status === "running" && c.job.attempts === 1)).toBe(true);
    });

    it("gives each claim a lease and a fresh, larger fencing token", async () => {
      await unlimited();
      await addMany([{ kind: "k" }, { kind: "k" }]);
      const [a] = await claim(1, T0, { leaseMs: 5000 });
      const [b] = await claim(1, T0 + 10);
      expect(a!.job.leaseExpiresAt).toBe(T0 + 5000);
      expect(b!.token).toBeGreaterThan(a!.token);
    });

    it("never exceeds the queue's concurrency (default 1), counted across connections", async () => {
      await addMany([{ kind: "k" }, { kind: "k" }, { kind: "k" }]);
      const other = await h.reopen();
      extra.push(other);
      expect(await claim(5)).toHaveLength(1);
      expect(await claim(5, T0, { s: other })).toHaveLength(0);
      await store.queueSetConcurrency({ queue: "default", concurrency: 2 });
      expect(await claim(5, T0, { s: other })).toHaveLength(1);
      expect(await claim(5)).toHaveLength(0);
    });

    it("prefetches beyond the free slots only from queues without a limit", async () => {
      await unlimited("free");
      await store.queueEnsure({ queue: "two", concurrency: 2 });
      await addMany(Array.from({ length: 10 }, () => ({ kind: "k", queue: "free" })));
      await addMany(Array.from({ length: 10 }, () => ({ kind: "k", queue: "two" })));
      const r = await store.jobClaim({ workerId: "w", limit: 1, prefetch: 5, leaseMs: 1000, now: T0, queues: ["two"] });
      expect(r.jobs).toHaveLength(1);
      const f = await store.jobClaim({ workerId: "w", limit: 1, prefetch: 5, leaseMs: 1000, now: T0, queues: ["free"] });
      expect(f.jobs).toHaveLength(6);
      expect(f.jobs.every((c) => c.job.status === "running")).toBe(true);
    });

    it("with many limited queues, a claim takes one job per free slot from queues in turn, each within its limit", async () => {
      const names = Array.from({ length: 50 }, (_, q) => `q${String(q).padStart(2, "0")}`);
      for (const q of names) await store.queueEnsure({ queue: q, concurrency: q === "q07" ? 3 : 1 });
      // Three jobs each, added round-robin; q13's are of a kind this worker does not run.
      await addMany([0, 1, 2].flatMap(() => names.map((q) => ({ kind: q === "q13" ? "other" : "k", queue: q }))));
      const queueOf = (cs: { job: { queue: string } }[]) => cs.map((c) => c.job.queue);
      const first = queueOf(await claim(20, T0, { kinds: ["k"] }));
      expect(first).toHaveLength(20);
      const second = queueOf(await claim(100, T0, { kinds: ["k"] }));
      const all = [...first, ...second];
      // 48 queues give one job, q07 gives three (its limit), q13 none: nothing beyond a limit.
      expect(all).toHaveLength(48 + 3);
      expect(all.filter((q) => q === "q07")).toHaveLength(3);
      expect(all).not.toContain("q13");
      expect(new Set(all.filter((q) => q !== "q07")).size).toBe(48);
      // One job from each of twenty queues, not three from a few: the queues take turns.
      expect(new Set(first).size).toBe(20);
      expect(await claim(100, T0, { kinds: ["k"] })).toHaveLength(0);
    });

    it("claims only from the queues and kinds asked for", async () => {
      await unlimited("a");
      await unlimited("b");
      const a = await add({ kind: "x", queue: "a" });
      const b = await add({ kind: "y", queue: "b" });
      expect((await claim(5, T0, { queues: ["b"], kinds: ["x"] }))).toHaveLength(0);
      expect((await claim(5, T0, { kinds: ["y"] })).map((c) => c.job.id)).toEqual([b.id]);
      expect((await claim(5, T0, { queues: ["a"] })).map((c) => c.job.id)).toEqual([a.id]);
    });

    it("waits with a delay or runAt, and says when the next job falls due", async () => {
      const j = await add({ kind: "k", delay: "5s" });
      expect(j.status).toBe("scheduled");
      const r = await store.jobClaim({ workerId: "w", limit: 1, leaseMs: 1000, now: T0 + 4999 });
      expect(r.jobs).toHaveLength(0);
      expect(r.nextRunAt).toBe(T0 + 5000);
      expect((await claim(1, T0 + 5000)).map((c) => c.job.id)).toEqual([j.id]);
      const at = await add({ kind: "k", runAt: new Date(T0 + 60_000) });
      expect(at).toMatchObject({ status: "scheduled", runAt: T0 + 60_000 });
    });
  });
}
