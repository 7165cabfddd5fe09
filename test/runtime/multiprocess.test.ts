/**
 * Real worker processes on one SQLite file. The oracle is an append-only log each attempt writes
 * to with O_APPEND; at the end it is compared with the store's final state.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { FIXTURES, addJobs, assertBuilt, children, exited, expectCrashRecovered, killChildren, readLog, runCounts, startWorker, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

beforeAll(assertBuilt);
afterEach(killChildren);

describe("several worker processes on one SQLite file", () => {
  it("8 processes drain 5,000 jobs: each ran exactly once, none lost, none left running", async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, "runway.db");
    const log = join(tmp.dir, "exec.log");
    const store = new SqliteStore({ path: db });
    try {
      await store.queueEnsure({ queue: "drain", concurrency: null });
      const ids = await addJobs(store, "drain", 5000);
      await Promise.all(
        Array.from({ length: 8 }, () => startWorker({ db, log, concurrency: 4, queue: "drain", leaseMs: 30_000, reaperMs: 1000, jobMs: 0 })),
      );
      await until("all jobs completed", async () => (await store.queueStats({ queue: "drain" }))[0]!.counts.completed === 5000);
      const lines = readLog(log);
      const seen = runCounts(lines);
      expect(lines).toHaveLength(5000);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(ids)).toEqual(new Set(seen.keys()));
      // The work really was shared between processes.
      expect(new Set(lines.map((l) => l.pid)).size).toBeGreaterThan(1);
      const [s] = await store.queueStats({ queue: "drain" });
      expect(s!.counts).toMatchObject({ running: 0, queued: 0, completed: 5000, failed: 0 });
      for (const c of children) c.kill("SIGTERM");
      const codes = await Promise.all(children.map(exited));
      expect(codes.every((c) => c === 0)).toBe(true);
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });

  it("kill -9 of a worker mid-run: every job completes, only the killed attempts ran twice, recovered within lease + reaper interval", async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, "runway.db");
    const log = join(tmp.dir, "exec.log");
    const store = new SqliteStore({ path: db });
    const leaseMs = 1000;
    const reaperMs = 500;
    try {
      await store.queueEnsure({ queue: "crash", concurrency: null });
      const ids = await addJobs(store, "crash", 300, () => ({ ms: 40 }));
      const victim = await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await until("some progress", () => readLog(log).length >= 60);
      const victimId = `w-${victim.pid}`;
      const running = await until("the victim to hold jobs", async () => {
        const r = (await store.jobList({ status: ["running"], limit: 100 })).filter((j) => j.workerId === victimId);
        return r.length > 0 ? r : undefined;
      });
      victim.kill("SIGKILL");
      const killedAt = Date.now();
      await exited(victim);
      // A replacement joins, as a supervisor would start one.
      await startWorker({ db, log, concurrency: 4, queue: "crash", leaseMs, reaperMs, jobMs: 40 });
      await until("all jobs completed", async () => (await store.queueStats({ queue: "crash" }))[0]!.counts.completed === 300);

      const lost = await expectCrashRecovered({ store, ids, log, victimId, killedAt, recoverWithinMs: leaseMs + reaperMs + 1000 });
      expect(running.some((j) => lost.some((a) => a.jobId === j.id))).toBe(true);
      for (const a of lost) expect((await store.jobGet({ id: a.jobId }))!.status).toBe("completed");
      const [s] = await store.queueStats({ queue: "crash" });
      expect(s!.counts).toMatchObject({ running: 0, queued: 0, failed: 0, completed: 300 });
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });

  it("a queue's concurrency limit holds across worker processes", async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, "runway.db");
    const log = join(tmp.dir, "exec.log");
    const store = new SqliteStore({ path: db });
    try {
      await store.queueEnsure({ queue: "limited", concurrency: 2 });
      await addJobs(store, "limited", 30, () => ({ ms: 60 }));
      await Promise.all(
        // Three one-slot processes against a limit of two: only the shared count can hold one back.
        [1, 2, 3].map(() => startWorker({ db, log, concurrency: 1, queue: "limited", leaseMs: 30_000, reaperMs: 1000, jobMs: 60 })),
      );
      let max = 0;
      await until("all jobs completed", async () => {
        const [s] = await store.queueStats({ queue: "limited" });
        max = Math.max(max, s!.counts.running);
        return s!.counts.completed === 30;
      });
      expect(max).toBe(2);
      expect(new Set(readLog(log).map((l) => l.pid)).size).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });

  it("a unique key holds when four processes add it at once", async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, "runway.db");
    const store = new SqliteStore({ path: db });
    try {
      const run = promisify(execFile);
      const outs = await Promise.all(
        [1, 2, 3, 4].map(() => run(process.execPath, [join(FIXTURES, "add-process.mjs"), db, "the-key", "50"])),
      );
      const ids = new Set(outs.flatMap((o) => JSON.parse(o.stdout) as string[]));
      expect(ids.size).toBe(1);
      expect(await store.jobList({ queue: "uniq" })).toHaveLength(1);
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });
});
