/**
 * The store conformance suite: every store runs exactly these tests. A factory hands out a fresh,
 * empty store, and `reopen` a second connection to the same database (as another process would).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../src/core/errors.js";
import type { JobStatus } from "../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../src/core/spec.js";
import type { Store } from "../../src/store/store.js";
import { complete, fail, release } from "./verbs.js";

export interface StoreHarness {
  store: Store;
  /** Another connection to the same database. */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    const extra: Store[] = [];

    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await h.cleanup();
    });

    async function add(spec: JobSpec, now = T0) {
      const [r] = await store.jobAddMany({ jobs: prepareJobs([spec], now), now });
      return r!.job;
    }
    async function addMany(specs: JobSpec[], now = T0) {
      return (await store.jobAddMany({ jobs: prepareJobs(specs, now), now })).map((r) => r.job);
    }
    async function claim(limit = 1, now = T0, opts: { queues?: string[]; kinds?: string[]; s?: Store; leaseMs?: number } = {}) {
      const r = await (opts.s ?? store).jobClaim({
        workerId: "w1",
        limit,
        leaseMs: opts.leaseMs ?? 30_000,
        now,
        queues: opts.queues ?? null,
        kinds: opts.kinds ?? null,
      });
      return r.jobs;
    }
    async function status(id: string): Promise<JobStatus> {
      return (await store.jobGet({ id }))!.status;
    }
    async function unlimited(queue = "default") {
      await store.queueEnsure({ queue, concurrency: null });
    }

    describe("adding", () => {
      it("stores every field of a job and gives it a time-sortable id", async () => {
        const job = await add({
          kind: "email",
          payload: { to: "a@b.c", n: [1, 2] },
          queue: "mail",
          priority: "P2",
          name: "welcome",
          labels: { team: "growth" },
          maxAttempts: 4,
          backoff: "fibonacci:2s:1m",
          timeout: "30s",
          key: "welcome:a@b.c",
        });
        const got = (await store.jobGet({ id: job.id }))!;
        expect(got).toMatchObject({
          queue: "mail",
          kind: "email",
          payload: { to: "a@b.c", n: [1, 2] },
          status: "queued",
          priority: "high",
          name: "welcome",
          labels: { team: "growth" },
          maxAttempts: 4,
          attempts: 0,
          backoff: { strategy: "fibonacci", baseMs: 2000, capMs: 60_000, jitter: 0 },
          timeoutMs: 30_000,
          key: "welcome:a@b.c",
          createdAt: T0,
          startedAt: null,
          finishedAt: null,
        });
        const later = await add({ kind: "email" }, T0 + 1);
        expect(later.id > job.id).toBe(true);
        expect((await store.queueGet({ queue: "mail" }))!).toMatchObject({ state: "running", concurrency: 1 });
      });

      it("refuses a dependency on an unknown job and writes nothing of the batch", async () => {
        const before = await store.jobList({});
        await expect(
          addMany([{ kind: "a" }, { kind: "b", dependsOn: ["01hzzzzzzzzzzzzzzzzzzzzzzz"] }]),
        ).rejects.toThrow(ValidationError);
        await expect(addMany([{ kind: "a" }, { kind: "b", dependsOn: ["nope"] }])).rejects.toThrow(/jobs\[1\]\.dependsOn: unknown job nope/);
        expect(await store.jobList({})).toEqual(before);
      });

      it("returns the job holding a unique key instead of adding another, and frees the key when it ends", async () => {
        const first = await add({ kind: "sync", key: "user:1" });
        const again = await store.jobAddMany({ jobs: prepareJobs([{ kind: "sync", key: "user:1" }], T0), now: T0 });
        expect(again[0]).toMatchObject({ created: false, job: { id: first.id } });
        // Another queue has its own keys.
        const other = await add({ kind: "sync", key: "user:1", queue: "other" });
        expect(other.id).not.toBe(first.id);
        const [c] = await claim();
        await complete(store, { id: c!.job.id, token: c!.token, now: T0 });
        const fresh = await add({ kind: "sync", key: "user:1" });
        expect(fresh.id).not.toBe(first.id);
      });

      it("holds a unique key under concurrent adds from several connections", async () => {
        const stores = [store, ...(await Promise.all([h.reopen(), h.reopen(), h.reopen()]))];
        extra.push(...stores.slice(1));
        const results = await Promise.all(
          stores.flatMap((s) =>
            Array.from({ length: 5 }, () => s.jobAddMany({ jobs: prepareJobs([{ kind: "k", key: "same" }]) })),
          ),
        );
        const ids = new Set(results.map((r) => r[0]!.job.id));
        expect(ids.size).toBe(1);
        expect(results.filter((r) => r[0]!.created)).toHaveLength(1);
        expect(await store.jobList({ status: ["queued"] })).toHaveLength(1);
      });
    });

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

    describe("dependencies", () => {
      it("a chain runs in order: blocked until the dependency completes", async () => {
        await unlimited();
        const [a, b, c] = await addMany([
          { ref: "a", kind: "k" },
          { ref: "b", kind: "k", dependsOn: ["a"] },
          { kind: "k", dependsOn: ["b"] },
        ]);
        expect([a!.status, b!.status, c!.status]).toEqual(["queued", "blocked", "blocked"]);
        expect(b!.dependsOn).toEqual([a!.id]);
        for (const next of [a!, b!, c!]) {
          const got = await claim(10);
          expect(got.map((x) => x.job.id)).toEqual([next.id]);
          await complete(store, { id: next.id, token: got[0]!.token });
        }
      });

      it("fan-in waits for every dependency; a delayed dependent becomes scheduled", async () => {
        await unlimited();
        const [a, b] = await addMany([{ kind: "k" }, { kind: "k" }]);
        const join = await add({ kind: "k", dependsOn: [a!.id, b!.id], delay: "1h" });
        const got = await claim(10);
        await complete(store, { id: a!.id, token: got.find((x) => x.job.id === a!.id)!.token });
        expect(await status(join.id)).toBe("blocked");
        await complete(store, { id: b!.id, token: got.find((x) => x.job.id === b!.id)!.token, now: T0 + 10 });
        expect(await status(join.id)).toBe("scheduled");
      });

      it("a failure skips its dependents transitively, naming the upstream job", async () => {
        await unlimited();
        const [a, b, c, other] = await addMany([
          { ref: "a", kind: "k" },
          { ref: "b", kind: "k", dependsOn: ["a"] },
          { kind: "k", dependsOn: ["b"] },
          { kind: "k" },
        ]);
        const [ca] = await claim(1);
        await fail(store, { id: a!.id, token: ca!.token, error: "nope" });
        expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} failed` });
        expect(await store.jobGet({ id: c!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} failed` });
        expect(await status(other!.id)).toBe("queued");
        // A job added later on a doomed job is skipped at once.
        const late = await add({ kind: "k", dependsOn: [c!.id] });
        expect(late.status).toBe("skipped");
      });

      it("cancelling or skipping a job skips its dependents too", async () => {
        const [a, b] = await addMany([{ ref: "a", kind: "k" }, { kind: "k", dependsOn: ["a"] }]);
        await store.jobCancel({ id: a!.id });
        expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} cancelled` });
        const [c, d] = await addMany([{ ref: "c", kind: "k" }, { kind: "k", dependsOn: ["c"] }]);
        await store.jobSkip({ id: c!.id });
        expect(await store.jobGet({ id: d!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${c!.id} was skipped` });
      });

      it("requeueing the upstream returns skipped dependents to blocked, and they run", async () => {
        await unlimited();
        const [a, b, c] = await addMany([
          { ref: "a", kind: "k" },
          { ref: "b", kind: "k", dependsOn: ["a"] },
          { kind: "k", dependsOn: ["b"] },
        ]);
        const [ca] = await claim(1);
        await fail(store, { id: a!.id, token: ca!.token, error: "nope" });
        await expect(store.jobRequeue({ id: c!.id })).rejects.toThrow(new RegExp(`requeue ${a!.id} first`));
        const re = await store.jobRequeue({ id: a!.id });
        expect(re).toMatchObject({ status: "queued", attempts: 0, error: null });
        expect(await status(b!.id)).toBe("blocked");
        expect(await store.jobGet({ id: c!.id })).toMatchObject({ status: "blocked", reason: null });
        for (const next of [a!, b!, c!]) {
          const [x] = await claim(10);
          expect(x!.job.id).toBe(next.id);
          await complete(store, { id: next.id, token: x!.token });
        }
      });

      it("un-skipping keeps a job skipped while another of its dependencies is still doomed", async () => {
        const [a, b, d] = await addMany([{ ref: "a", kind: "k" }, { ref: "b", kind: "k" }, { kind: "k", dependsOn: ["a", "b"] }]);
        await store.jobCancel({ id: a!.id });
        await store.jobCancel({ id: b!.id });
        await store.jobRequeue({ id: a!.id });
        expect(await store.jobGet({ id: d!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${b!.id} cancelled` });
        await store.jobRequeue({ id: b!.id });
        expect(await status(d!.id)).toBe("blocked");
      });

      it("refuses a dependency cycle and a job depending on itself", async () => {
        await expect(addMany([{ ref: "a", kind: "k", dependsOn: ["b"] }, { ref: "b", kind: "k", dependsOn: ["a"] }])).rejects.toThrow(/cycle/);
        await expect(addMany([{ ref: "a", kind: "k", dependsOn: ["a"] }])).rejects.toThrow(/itself/);
        expect(await store.jobList({})).toHaveLength(0);
      });
    });

    describe("escalation", () => {
      it("aider twice, then codex, then a human-review queue: one chain, linked both ways", async () => {
        await store.escalationSet({ rule: { queue: null, kind: "aider", after: 2, toQueue: null, toKind: "codex" } });
        await store.escalationSet({ rule: { queue: null, kind: "codex", after: 1, toQueue: "human-review", toKind: "review" } });
        expect(await store.escalationList()).toHaveLength(2);
        const j = await add({ kind: "aider", payload: { task: "fix bug" }, maxAttempts: 5, backoff: "immediate", priority: "high" });
        const downstream = await add({ kind: "deploy", dependsOn: [j.id] });
        let [c] = await claim();
        expect((await fail(store, { id: j.id, token: c!.token, error: "e1" })).status).toBe("queued");
        [c] = await claim();
        const o = await fail(store, { id: j.id, token: c!.token, error: "e2" });
        expect(o).toMatchObject({ status: "failed", escalatedTo: expect.any(String) });
        const codex = (await store.jobGet({ id: o.escalatedTo! }))!;
        expect(codex).toMatchObject({ kind: "codex", queue: "default", payload: { task: "fix bug" }, priority: "high", status: "queued", escalatedFrom: j.id, attempts: 0 });
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "failed", escalatedTo: codex.id, reason: expect.stringMatching(/^escalated to/) });
        // The dependent now waits on the successor instead of being skipped.
        expect(await store.jobGet({ id: downstream.id })).toMatchObject({ status: "blocked", dependsOn: [codex.id] });
        [c] = await claim();
        const o2 = await fail(store, { id: codex.id, token: c!.token, error: "e3" });
        const review = (await store.jobGet({ id: o2.escalatedTo! }))!;
        expect(review).toMatchObject({ queue: "human-review", kind: "review", escalatedFrom: codex.id });
        for (const id of [j.id, codex.id, review.id]) {
          expect((await store.jobChain({ id })).map((x) => x.kind)).toEqual(["aider", "codex", "review"]);
        }
        [c] = await claim(1, T0, { queues: ["human-review"] });
        await complete(store, { id: review.id, token: c!.token });
        // It followed the chain to its end and runs once the last successor completed.
        expect(await store.jobGet({ id: downstream.id })).toMatchObject({ status: "queued", dependsOn: [review.id] });
        expect(await store.escalationRemove({ queue: null, kind: "codex" })).toBe(true);
      });

      it("refuses a rule without a source or a destination", async () => {
        await expect(store.escalationSet({ rule: { queue: null, kind: null, after: 1, toQueue: "x", toKind: null } })).rejects.toThrow(ValidationError);
        await expect(store.escalationSet({ rule: { queue: null, kind: "a", after: 1, toQueue: null, toKind: null } })).rejects.toThrow(ValidationError);
        await expect(store.escalationSet({ rule: { queue: null, kind: "a", after: 0, toQueue: "x", toKind: null } })).rejects.toThrow(/after/);
      });
    });

    describe("the reaper", () => {
      it("returns a job whose lease expired to the queue; the first loss is free, later ones count", async () => {
        await unlimited();
        const [a, b] = await addMany([{ kind: "k", maxAttempts: 2 }, { kind: "k", maxAttempts: 1 }]);
        await claim(2, T0, { leaseMs: 1000 });
        expect(await store.jobReapExpired({ now: T0 + 999 })).toEqual({ requeued: [], failed: [], cancelled: [] });
        const r = await store.jobReapExpired({ now: T0 + 1001 });
        expect(r).toEqual({ requeued: [a!.id, b!.id], failed: [], cancelled: [] });
        expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "queued", attempts: 0, error: LOST });
        expect((await store.jobAttempts({ id: b!.id }))[0]!.outcome).toBe("lost");
        // Lost again: now it counts, and b (one attempt allowed) has none left.
        await claim(2, T0 + 2000, { leaseMs: 1000 });
        expect(await store.jobReapExpired({ now: T0 + 3001 })).toEqual({ requeued: [a!.id], failed: [b!.id], cancelled: [] });
        expect(await store.jobGet({ id: a!.id })).toMatchObject({ status: "queued", attempts: 1 });
        expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "failed", error: LOST });
      });

      it("never undoes a completion that raced it", async () => {
        const reaper = await h.reopen();
        extra.push(reaper);
        await unlimited();
        for (let i = 0; i < 50; i++) {
          const j = await add({ kind: "k", maxAttempts: 3 });
          const [c] = await claim(1, T0, { leaseMs: 10 });
          // Both run at once from two connections; whichever commits first wins, and a completed job stays completed.
          const finish = () => complete(store, { id: j.id, token: c!.token, now: T0 + 20 });
          const reap = () => reaper.jobReapExpired({ now: T0 + 20 });
          // Alternate who starts first, so both orders are exercised.
          const [done, reaped] =
            i % 2 === 0
              ? await Promise.all([finish(), reap()])
              : await Promise.all([reap(), finish()]).then(([r, d]) => [d, r] as const);
          const final = (await store.jobGet({ id: j.id }))!;
          if (done.ok) {
            expect(final.status).toBe("completed");
            expect(reaped.requeued).not.toContain(j.id);
          } else {
            expect(reaped.requeued).toContain(j.id);
            expect(final.status).toBe("queued");
            await store.jobCancel({ id: j.id });
          }
        }
      });

      it("a late completion after the reaper ran changes nothing", async () => {
        const j = await add({ kind: "k", maxAttempts: 2 });
        const [c] = await claim(1, T0, { leaseMs: 10 });
        await store.jobReapExpired({ now: T0 + 11 });
        expect((await complete(store, { id: j.id, token: c!.token })).ok).toBe(false);
        expect(await status(j.id)).toBe("queued");
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

      it("requeue refuses when the job's unique key is now held by another job", async () => {
        const a = await add({ kind: "k", key: "K" });
        await store.jobCancel({ id: a.id });
        const b = await add({ kind: "k", key: "K" });
        await expect(store.jobRequeue({ id: a.id })).rejects.toThrow(new RegExp(`held by job ${b.id}`));
        expect(await status(a.id)).toBe("cancelled");
      });
    });

    describe("reading, stats and prune", () => {
      it("lists with filters and pages through with a cursor", async () => {
        await unlimited();
        const jobs = await addMany(Array.from({ length: 7 }, (_, i) => ({ kind: i % 2 ? "odd" : "even" })));
        expect(await store.jobList({ kind: "odd" })).toHaveLength(3);
        const page1 = await store.jobList({ limit: 4 });
        const page2 = await store.jobList({ limit: 4, after: page1.at(-1)!.id });
        expect([...page1, ...page2].map((j) => j.id)).toEqual(jobs.map((j) => j.id));
        const recent = await store.jobList({ order: "recent", limit: 3 });
        expect(recent.map((j) => j.id)).toEqual(jobs.slice(-3).reverse().map((j) => j.id));
        const older = await store.jobList({ order: "recent", limit: 3, after: recent.at(-1)!.id });
        expect(older.map((j) => j.id)).toEqual(jobs.slice(1, 4).reverse().map((j) => j.id));
        await expect(store.jobList({ status: ["bogus" as JobStatus] })).rejects.toThrow(/unknown status/);
      });

      it("counts by status, duration percentiles and throughput per queue", async () => {
        await unlimited();
        const jobs = await addMany(Array.from({ length: 10 }, () => ({ kind: "k" })));
        const claimed = await claim(10, T0);
        for (const [i, c] of claimed.slice(0, 8).entries()) {
          await complete(store, { id: c.job.id, token: c.token, now: T0 + (i + 1) * 100 });
        }
        await fail(store, { id: claimed[8]!.job.id, token: claimed[8]!.token, error: "x", now: T0 + 50 });
        const [s] = await store.queueStats({ queue: "default", now: T0 + 1000 });
        expect(s).toMatchObject({
          queue: "default",
          state: "running",
          concurrency: null,
          counts: { queued: 0, running: 1, completed: 8, failed: 1, scheduled: 0, blocked: 0, cancelled: 0, skipped: 0 },
          durationP50Ms: 400,
          durationP95Ms: 800,
          completedLastMinute: 8,
        });
        expect(jobs).toHaveLength(10);
      });

      it("prunes finished jobs older than an age, with their attempts and logs", async () => {
        await unlimited();
        const [a, b, c] = await addMany([{ kind: "k" }, { kind: "k" }, { kind: "k" }]);
        const got = await claim(2, T0);
        await store.jobLogAppend({ lines: [{ jobId: a!.id, attempt: 1, at: T0, line: "hello" }] });
        expect((await store.jobLogs({ id: a!.id })).map((l) => l.line)).toEqual(["hello"]);
        await complete(store, { id: a!.id, token: got[0]!.token, now: T0 });
        await complete(store, { id: b!.id, token: got[1]!.token, now: T0 + 10_000 });
        expect(await store.jobPrune({ olderThanMs: 5000, now: T0 + 12_000 })).toEqual({ deleted: 1 });
        expect(await store.jobGet({ id: a!.id })).toBeNull();
        expect(await store.jobAttempts({ id: a!.id })).toEqual([]);
        expect(await store.jobLogs({ id: a!.id })).toEqual([]);
        expect(await status(b!.id)).toBe("completed");
        expect(await status(c!.id)).toBe("queued");
      });

      it("upkeep of the table runs, and repeats cheaply", async () => {
        await addMany(Array.from({ length: 20 }, () => ({ kind: "k" })));
        await store.storeMaintain({ now: T0 });
        await store.storeMaintain({ now: T0 + 1 });
        expect(await store.jobList({})).toHaveLength(20);
      });

      it("says when a queue has drained", async () => {
        const j = await add({ kind: "k" });
        expect(await store.queueIsDrained({ queue: "default" })).toBe(false);
        const [c] = await claim();
        expect(await store.queueIsDrained({ queue: "default" })).toBe(false);
        await complete(store, { id: j.id, token: c!.token });
        expect(await store.queueIsDrained({ queue: "default" })).toBe(true);
        await add({ kind: "k", delay: "1h" });
        expect(await store.queueIsDrained({ queue: "default" })).toBe(false);
      });
    });


    describe("listing for a dashboard", () => {
      it("pages by addition order, filters by name or command text, lists by end time, and draws a timeline", async () => {
        await unlimited();
        const jobs = await addMany([
          { kind: "k", name: "alpha 100%" },
          { kind: "k", name: "beta", payload: { command: ["python3", "solve.py"], env: { SECRET: "hunter2" } } },
          { kind: "k", name: "gamma" },
        ]);
        const added = await store.jobList({ order: "added", limit: 2 });
        expect(added.map((j) => j.id)).toEqual([jobs[0]!.id, jobs[1]!.id]);
        expect((await store.jobList({ order: "added", after: jobs[1]!.id })).map((j) => j.id)).toEqual([jobs[2]!.id]);
        expect((await store.jobList({ search: "SOLVE" })).map((j) => j.name)).toEqual(["beta"]);
        expect((await store.jobList({ search: "100%" })).map((j) => j.name)).toEqual(["alpha 100%"]);
        expect(await store.jobList({ search: "0_%" })).toEqual([]);
        // A payload's other fields, such as a captured environment, are not searchable.
        expect(await store.jobList({ search: "hunter2" })).toEqual([]);
        const claimed = await claim(3, T0);
        await complete(store, { id: claimed[1]!.job.id, token: claimed[1]!.token, now: T0 + 61_000 });
        await complete(store, { id: claimed[0]!.job.id, token: claimed[0]!.token, now: T0 + 1_000 });
        await fail(store, { id: claimed[2]!.job.id, token: claimed[2]!.token, error: "x", now: T0 + 62_000 });
        const finished = await store.jobList({ order: "finished", finishedSince: T0 + 500 });
        expect(finished.map((j) => j.id)).toEqual([claimed[0]!.job.id, claimed[1]!.job.id, claimed[2]!.job.id]);
        expect((await store.jobList({ order: "finished", finishedSince: T0 + 500, after: claimed[1]!.job.id })).map((j) => j.id)).toEqual([claimed[2]!.job.id]);
        const timeline = await store.jobTimeline({ since: T0, bucketMs: 60_000 });
        const bucket = (t: number) => Math.floor(t / 60_000) * 60_000;
        expect(timeline).toEqual([
          { at: bucket(T0 + 1_000), completed: 1, failed: 0, meanMs: 1_000 },
          { at: bucket(T0 + 61_000), completed: 1, failed: 1, meanMs: 61_000 },
        ]);
      });
    });

    describe("hostile text", () => {
      it("quotes, semicolons and SQL in names, labels, keys and searches are data, stored and found as given", async () => {
        const evil = `x'); DELETE FROM jobs; --`;
        const j = await add({ kind: "k", name: evil, key: `k' OR '1'='1`, labels: { "a'b": `"; DROP TABLE queues; --` } });
        const back = (await store.jobGet({ id: j.id }))!;
        expect(back).toMatchObject({ name: evil, key: `k' OR '1'='1`, labels: { "a'b": `"; DROP TABLE queues; --` } });
        expect((await store.jobList({ search: "'); DELETE" })).map((x) => x.id)).toEqual([j.id]);
        expect(await store.jobList({ search: "' OR '1'='1" })).toEqual([]);
        expect(await store.jobList({ queue: "' OR 1=1 --" })).toEqual([]);
        expect((await store.jobList({})).map((x) => x.id)).toEqual([j.id]);
        expect(await store.jobGet({ id: "' OR '1'='1" })).toBeNull();
      });
    });

    describe("targets", () => {
      const box = { name: "box", host: "alice@box.example", dir: "~/runs", concurrency: 1 };

      it("adds, lists, replaces and removes a target; a duplicate or a bad field is refused", async () => {
        const t = await store.targetSet({ target: box, now: T0 });
        expect(t).toMatchObject({ name: "box", host: "alice@box.example", dir: "runs", port: null, sync: null, excludes: [], concurrency: 1, reachable: null });
        await expect(store.targetSet({ target: box })).rejects.toThrow(ConflictError);
        await store.targetSet({ target: { ...box, port: 2222, concurrency: 2, excludes: ["*.tmp"] }, replace: true });
        expect(await store.targetGet({ name: "box" })).toMatchObject({ port: 2222, concurrency: 2, excludes: ["*.tmp"], createdAt: T0 });
        await expect(store.targetSet({ target: { ...box, name: "two", host: "-oProxyCommand=x" } })).rejects.toThrow(/target.host/);
        await expect(store.targetSet({ target: { ...box, name: "two", port: 70000 } })).rejects.toThrow(/target.port/);
        await expect(store.targetSet({ target: { ...box, name: "bad name" } })).rejects.toThrow(ValidationError);
        await store.targetReport({ name: "box", reachable: false, message: "connection refused", now: T0 + 5 });
        expect((await store.targetList()).map((x) => [x.name, x.reachable, x.message, x.checkedAt])).toEqual([["box", false, "connection refused", T0 + 5]]);
        expect(await store.targetRemove({ name: "box" })).toBe(true);
        expect(await store.targetRemove({ name: "box" })).toBe(false);
        expect(await store.targetList()).toEqual([]);
      });

      it("refuses a job for an unknown target, and removing a target that still has jobs", async () => {
        await expect(add({ kind: "shell", target: "nowhere" })).rejects.toThrow(NotFoundError);
        await expect(add({ kind: "shell", target: "nowhere" })).rejects.toThrow(/runway target add nowhere/);
        expect(await store.jobList({})).toEqual([]);
        await store.targetSet({ target: box });
        const j = await add({ kind: "shell", target: "box" });
        expect(j.target).toBe("box");
        expect(await store.targetCounts()).toEqual({ box: { queued: 1 } });
        await expect(store.targetRemove({ name: "box" })).rejects.toThrow(/still has 1 job/);
        await store.jobCancel({ id: j.id });
        expect(await store.targetRemove({ name: "box" })).toBe(true);
      });

      it("a target's jobs are claimed only by its lane, within the target's limit across queues", async () => {
        await store.targetSet({ target: { ...box, concurrency: 2 } });
        await unlimited("a");
        await unlimited("b");
        const [local] = await addMany([{ kind: "shell", queue: "a" }]);
        const remote = await addMany([
          { kind: "shell", queue: "a", target: "box" },
          { kind: "shell", queue: "b", target: "box" },
          { kind: "shell", queue: "b", target: "box" },
        ]);
        const lane = (limit: number, s: Store = store) =>
          s.jobClaim({ workerId: "lane", limit, leaseMs: 30_000, now: T0, target: "box" }).then((r) => r.jobs);
        const plain = await claim(10);
        expect(plain.map((c) => c.job.id)).toEqual([local!.id]);
        const first = await lane(10);
        expect(first).toHaveLength(2);
        const other = await h.reopen();
        extra.push(other);
        expect(await lane(10, other)).toEqual([]);
        await complete(store, { id: first[0]!.job.id, token: first[0]!.token });
        const next = await lane(10, other);
        expect(next).toHaveLength(1);
        expect(new Set([...first, ...next].map((c) => c.job.id))).toEqual(new Set(remote.map((j) => j.id)));
      });

      it("a job whose target is gone cannot be requeued; an escalation to another kind leaves the target behind", async () => {
        await store.targetSet({ target: box });
        await store.escalationSet({ rule: { queue: null, kind: "shell", after: 1, toQueue: "humans", toKind: "review" } });
        const j = await add({ kind: "shell", target: "box" });
        const [c] = (await store.jobClaim({ workerId: "lane", limit: 1, leaseMs: 30_000, now: T0, target: "box" })).jobs;
        const failed = await fail(store, { id: j.id, token: c!.token, error: "no" });
        const successor = (await store.jobGet({ id: failed.escalatedTo! }))!;
        expect(successor).toMatchObject({ kind: "review", queue: "humans", target: null });
        await store.jobCancel({ id: successor.id });
        await store.targetRemove({ name: "box" });
        await expect(store.jobRequeue({ id: j.id })).rejects.toThrow(/target "box" does not exist/);
      });

      it("a job whose run is open survives the reaper for free, keeps its run, and is claimed first to be adopted", async () => {
        await store.targetSet({ target: box });
        const a = await add({ kind: "shell", target: "box", maxAttempts: 1 });
        const lane = (now: number) => store.jobClaim({ workerId: "lane", limit: 1, leaseMs: 1000, now, target: "box" }).then((r) => r.jobs);
        const [c] = await lane(T0);
        const run = { runId: `${a.id}-1`, attempt: 1, launchedAt: T0 };
        expect(await store.jobRemoteSet({ id: a.id, token: c!.token, remote: run })).toBe(true);
        expect(await store.jobRemoteSet({ id: a.id, token: c!.token + 999, remote: null })).toBe(false);
        // A critical job added meanwhile would normally come first; the open run wins, so the target is not over-filled.
        await add({ kind: "shell", target: "box", priority: "critical" });
        for (let round = 0; round < 3; round++) {
          // Lost three times over: a local job would have failed; a run that is still open costs nothing.
          const now = T0 + 10_000 * (round + 1);
          expect((await store.jobReapExpired({ now })).requeued).toEqual([a.id]);
          const [again] = await lane(now);
          expect(again!.job).toMatchObject({ id: a.id, attempts: 1, remote: run });
        }
      });
    });

    describe("cron schedules", () => {
      // T0 is 2023-11-14T22:13:20Z.
      const MINUTE = T0 + 40_000;
      const HOUR = T0 + 2_800_000;
      const everyMinute = { name: "minutely", pattern: "* * * * *", timezone: "UTC", kind: "report", payload: { n: 1 }, queue: "crons", priority: "high" as const };

      it("sets, lists, replaces and removes schedules", async () => {
        const s = await store.cronSet({ schedule: everyMinute, now: T0 });
        expect(s).toEqual({
          name: "minutely",
          pattern: "* * * * *",
          timezone: "UTC",
          queue: "crons",
          kind: "report",
          payload: { n: 1 },
          priority: "high",
          nextAt: MINUTE,
          createdAt: T0,
        });
        await store.cronSet({ schedule: { name: "hourly", pattern: "0 * * * *", timezone: "UTC", kind: "sync" }, now: T0 });
        expect((await store.cronList()).map((c) => [c.name, c.nextAt, c.queue, c.priority])).toEqual([
          ["hourly", HOUR, "default", "normal"],
          ["minutely", MINUTE, "crons", "high"],
        ]);
        // The same name again replaces the schedule, keeping when it was first set.
        const replaced = await store.cronSet({ schedule: { ...everyMinute, pattern: "0 9 * * *", timezone: "Europe/Paris" }, now: T0 + 5 });
        expect(replaced).toMatchObject({ pattern: "0 9 * * *", timezone: "Europe/Paris", nextAt: Date.UTC(2023, 10, 15, 8), createdAt: T0 });
        expect(await store.cronRemove({ name: "minutely" })).toBe(true);
        expect(await store.cronRemove({ name: "minutely" })).toBe(false);
        expect((await store.cronList()).map((c) => c.name)).toEqual(["hourly"]);
      });

      it("refuses a bad expression or timezone, naming the field, and stores nothing", async () => {
        await expect(store.cronSet({ schedule: { ...everyMinute, pattern: "every minute" } })).rejects.toThrow(ValidationError);
        await expect(store.cronSet({ schedule: { ...everyMinute, pattern: "61 * * * *" } })).rejects.toThrow(/^pattern: .*e\.g\. "\*\/5 \* \* \* \*"/);
        await expect(store.cronSet({ schedule: { ...everyMinute, timezone: "Mars/Olympus" } })).rejects.toThrow(/^timezone: .*e\.g\. "Europe\/Paris"/);
        await expect(store.cronSet({ schedule: { ...everyMinute, name: "no spaces" } })).rejects.toThrow(/^name: /);
        expect(await store.cronList()).toEqual([]);
      });

      it("fires one job per due schedule, keyed by its tick, and moves each on to its next tick", async () => {
        await store.cronSet({ schedule: everyMinute, now: T0 });
        await store.cronSet({ schedule: { name: "hourly", pattern: "0 * * * *", timezone: "UTC", kind: "sync" }, now: T0 });
        expect(await store.cronFire({ now: MINUTE - 1 })).toEqual([]);
        const fired = await store.cronFire({ now: MINUTE });
        expect(fired).toHaveLength(1);
        expect(fired[0]).toMatchObject({
          queue: "crons",
          kind: "report",
          payload: { n: 1 },
          priority: "high",
          status: "queued",
          name: "minutely",
          key: `cron:minutely:${MINUTE}`,
          runAt: MINUTE,
        });
        expect(await store.jobGet({ id: fired[0]!.id })).toMatchObject({ status: "queued", key: `cron:minutely:${MINUTE}` });
        expect(await store.cronFire({ now: MINUTE + 500 })).toEqual([]);
        expect((await store.cronList()).map((c) => c.nextAt)).toEqual([HOUR, MINUTE + 60_000]);
        // The minutely schedule missed the ticks in between: it fires once, for the first of them.
        const both = await store.cronFire({ now: HOUR });
        expect(both.map((j) => j.key).sort()).toEqual([`cron:hourly:${HOUR}`, `cron:minutely:${MINUTE + 60_000}`]);
        expect((await store.cronList()).map((c) => c.nextAt)).toEqual([HOUR + 3_600_000, HOUR + 60_000]);
        expect(await store.jobList({})).toHaveLength(3);
      });

      it("fires a tick once when several connections fire at the same moment", async () => {
        const others = await Promise.all([h.reopen(), h.reopen()]);
        extra.push(...others);
        await store.cronSet({ schedule: { ...everyMinute, pattern: "* * * * * *" }, now: T0 });
        await store.cronSet({ schedule: { name: "other", pattern: "* * * * * *", timezone: "UTC", kind: "k" }, now: T0 });
        // Warm connections, so the racing calls really overlap.
        await Promise.all([store, ...others].map((s) => s.cronFire({ now: T0 })));
        let added = 0;
        for (let second = 1; second <= 5; second++) {
          const now = T0 + second * 1000;
          const rounds = await Promise.all([...others, store, ...others].map((s) => s.cronFire({ now })));
          added += rounds.flat().length;
        }
        expect(added).toBe(10);
        const keys = (await store.jobList({ limit: 100 })).map((j) => j.key);
        expect(keys).toHaveLength(10);
        expect(new Set(keys).size).toBe(10);
      });

      it("fires once for a missed window, then waits for the next tick after now", async () => {
        await store.cronSet({ schedule: everyMinute, now: T0 });
        const late = MINUTE + 10 * 60_000 + 30_000;
        const fired = await store.cronFire({ now: late });
        expect(fired.map((j) => j.key)).toEqual([`cron:minutely:${MINUTE}`]);
        expect((await store.cronList())[0]!.nextAt).toBe(MINUTE + 11 * 60_000);
        // Once the tick's job has ended its key is free again: what stops a second fire is the schedule having moved on.
        const [c] = await claim(1, late, { queues: ["crons"] });
        await complete(store, { id: c!.job.id, token: c!.token, now: late });
        const other = await h.reopen();
        extra.push(other);
        expect(await other.cronFire({ now: late })).toEqual([]);
        expect(await store.cronFire({ now: late })).toEqual([]);
        expect(await store.jobList({})).toHaveLength(1);
      });
    });
  });
}

const LOST = "lease expired: the worker stopped heart-beating (it died, hung or lost the database)";
