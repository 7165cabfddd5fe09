/** Reading: lists, stats, prune, dashboard listings, hostile text. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function readingSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

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
}
