/**
 * Real worker processes, each with its own pool, on one PostgreSQL schema: what many machines
 * sharing a server do, on one machine.
 */
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { addJobs, assertBuilt, children, exited, expectCrashRecovered, killChildren, readLog, runCounts, startWorker, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
const schemas: string[] = [];

beforeAll(async () => {
  assertBuilt();
  await requirePostgres();
});
afterEach(killChildren);
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
  tmp.cleanup();
});

function setup(name: string) {
  const schema = freshSchema(name);
  schemas.push(schema);
  const db = `${PG_URL}?schema=${schema}`;
  const store = new PostgresStore({ url: db, poolSize: 4, onWarning: () => {} });
  return { db, store, log: join(tmp.dir, `${schema}.log`) };
}

describe("worker processes on one PostgreSQL schema", () => {
  it("8 processes, each with its own pool, drain 10,000 jobs: each exactly once, none lost, none left running", async () => {
    const { db, store, log } = setup("drain");
    try {
      await store.queueEnsure({ queue: "drain", concurrency: null });
      const ids = await addJobs(store, "drain", 10_000);
      await Promise.all(
        Array.from({ length: 8 }, () => startWorker({ db, log, concurrency: 8, queue: "drain", leaseMs: 30_000, reaperMs: 1000, jobMs: 0 })),
      );
      await until("all jobs completed", async () => (await store.queueStats({ queue: "drain" }))[0]!.counts.completed === 10_000, 120_000);
      const lines = readLog(log);
      const runs = runCounts(lines);
      expect(lines).toHaveLength(10_000);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(runs.keys())).toEqual(new Set(ids));
      expect(new Set(lines.map((l) => l.pid)).size).toBeGreaterThan(1);
      expect((await store.queueStats({ queue: "drain" }))[0]!.counts).toMatchObject({ running: 0, queued: 0, completed: 10_000 });
      for (const c of children) c.kill("SIGTERM");
      expect((await Promise.all(children.map(exited))).every((code) => code === 0)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("a queue with concurrency 2 never shows more than 2 running, whatever the number of workers", async () => {
    const { db, store, log } = setup("limit");
    const sampler = new pg.Client({ connectionString: PG_URL });
    await sampler.connect();
    try {
      await store.queueEnsure({ queue: "two", concurrency: 2 });
      await addJobs(store, "two", 60, () => ({ ms: 20 }));
      await Promise.all(
        Array.from({ length: 8 }, () => startWorker({ db, log, concurrency: 4, queue: "two", leaseMs: 30_000, reaperMs: 1000, jobMs: 20 })),
      );
      let max = 0;
      let samples = 0;
      await until(
        "all jobs completed",
        async () => {
          const r = await sampler.query(
            `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'completed')::int AS done
             FROM "${store.schema}".jobs WHERE queue = 'two'`,
          );
          max = Math.max(max, r.rows[0].running);
          samples++;
          return r.rows[0].done === 60;
        },
        60_000,
      );
      expect(samples).toBeGreaterThan(10);
      expect(max).toBe(2);
      // The limit was shared: several processes took turns.
      expect(new Set(readLog(log).map((l) => l.pid)).size).toBeGreaterThan(1);
    } finally {
      await sampler.end();
      await store.close();
    }
  });

  it("kill -9 of a worker mid-run: every job completes, only the killed attempts ran twice, recovered in time", async () => {
    const { db, store, log } = setup("crash");
    const leaseMs = 1000;
    const reaperMs = 500;
    try {
      await store.queueEnsure({ queue: "crash", concurrency: null });
      const ids = await addJobs(store, "crash", 300, () => ({ ms: 40 }));
      const victim = await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await until("some progress", () => readLog(log).length >= 60);
      const victimId = `w-${victim.pid}`;
      await until("the victim to hold jobs", async () =>
        (await store.jobList({ status: ["running"], limit: 100 })).some((j) => j.workerId === victimId),
      );
      victim.kill("SIGKILL");
      const killedAt = Date.now();
      await exited(victim);
      await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await until("all jobs completed", async () => (await store.queueStats({ queue: "crash" }))[0]!.counts.completed === 300);
      await expectCrashRecovered({ store, ids, log, victimId, killedAt, recoverWithinMs: leaseMs + reaperMs + 1000 });
      expect((await store.queueStats({ queue: "crash" }))[0]!.counts).toMatchObject({ running: 0, queued: 0, failed: 0, completed: 300 });
    } finally {
      await store.close();
    }
  });

  it("a NOTIFY wakes a sleeping worker in another process well within its poll interval", async () => {
    const { db, store, log } = setup("notify");
    try {
      await store.queueEnsure({ queue: "wake", concurrency: null });
      // Polling only every 10 s: a quick start can only come from the notification.
      await startWorker({ db, log, concurrency: 1, queue: "wake", leaseMs: 30_000, reaperMs: 10_000, jobMs: 0, pollMs: 10_000 });
      await new Promise((r) => setTimeout(r, 300));
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [added] = await store.jobAddMany({ jobs: prepareJobs([{ kind: "work", queue: "wake" }]) });
        const line = await until("the job to start", () => readLog(log).find((l) => l.id === added!.job.id), 10_000);
        latencies.push(line.startedAt - added!.job.createdAt);
        await new Promise((r) => setTimeout(r, 150));
      }
      // Five quick starts in a row: neither the 10 s poll nor the worker's 1 s safety net explains them.
      expect(Math.max(...latencies)).toBeLessThan(150);
    } finally {
      await store.close();
    }
  });
});
