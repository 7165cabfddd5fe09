/**
 * Random kill -9 of worker processes every few seconds while jobs of 0.2–2 s run on 8 workers,
 * then heal and drain: the oracle holds, and each killed job is runnable again within
 * lease + reaper interval + 1 s.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { assertBuilt, exited, killChildren, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { FULL, checkOracle, startFaultWorker, verdict } from "./oracle.js";
import { STORE_KINDS, faultStore } from "./stores.js";

const tmp = tempDir("rw-faults-");
beforeAll(assertBuilt);
afterEach(killChildren);
afterAll(tmp.cleanup);

const SIZE = FULL ? { jobs: 2000, minMs: 200, maxMs: 2000, stormMs: 60_000 } : { jobs: 1000, minMs: 50, maxMs: 400, stormMs: 15_000 };
const LEASE_MS = 2000;
const REAPER_MS = 500;

describe.each(STORE_KINDS)("kill -9 storm on %s", (kind) => {
  it(`${SIZE.jobs} jobs of ${SIZE.minMs}–${SIZE.maxMs} ms on 8 workers, one killed every 1–3 s for ${SIZE.stormMs / 1000} s`, async () => {
    const s = await faultStore(kind, tmp.dir, "storm");
    try {
      await s.store.queueEnsure({ queue: "storm", concurrency: null });
      // Attempts to spare: a job lost twice (its worker killed under it twice) counts an attempt, as it should.
      const ids: string[] = [];
      for (let i = 0; i < SIZE.jobs; i += 500) {
        const specs = Array.from({ length: Math.min(500, SIZE.jobs - i) }, () => ({
          kind: "work",
          queue: "storm",
          maxAttempts: 10,
          payload: { ms: SIZE.minMs + Math.floor(Math.random() * (SIZE.maxMs - SIZE.minMs)) },
        }));
        ids.push(...(await s.store.jobAddMany({ jobs: prepareJobs(specs) })).map((r) => r.job.id));
      }
      const start = () => startFaultWorker({ db: s.db, log: s.log, concurrency: 2, queue: "storm", leaseMs: LEASE_MS, reaperMs: REAPER_MS });
      const workers: ChildProcess[] = await Promise.all(Array.from({ length: 8 }, start));
      const kills: { pid: number; at: number }[] = [];
      const stormEnd = Date.now() + SIZE.stormMs;
      while (Date.now() < stormEnd) {
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
        const i = Math.floor(Math.random() * workers.length);
        const victim = workers[i]!;
        kills.push({ pid: victim.pid!, at: Date.now() });
        victim.kill("SIGKILL");
        await exited(victim);
        // Heal: a new worker takes its place at once.
        workers[i] = await start();
      }
      await until("the drain", async () => {
        const counts = (await s.store.queueStats({ queue: "storm" }))[0]!.counts;
        if (counts.failed > 0) throw new Error(`${counts.failed} job(s) failed for good during the storm`);
        return counts.completed === ids.length;
      }, 120_000);
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(workers.map(exited));
      const v = await checkOracle({ store: s.store, ids, log: s.log });
      // Each lost attempt was returned within lease + reaper interval + 1 s of its worker's death.
      const killedAt = new Map(kills.map((k) => [`w-${k.pid}`, k.at]));
      let slowest = 0;
      for (const id of ids) {
        for (const a of await s.store.jobAttempts({ id })) {
          if (a.outcome !== "lost") continue;
          const at = killedAt.get(a.workerId ?? "");
          expect(at, `a lost attempt of ${a.workerId}, which was not killed`).toBeDefined();
          slowest = Math.max(slowest, a.finishedAt - at!);
        }
      }
      expect(slowest).toBeLessThanOrEqual(LEASE_MS + REAPER_MS + 1000);
      expect(v.lost).toBeGreaterThan(0);
      verdict(`kill -9 storm, ${kind}`, {
        jobs: v.jobs,
        kills: kills.length,
        completed: v.completed,
        lostAttempts: v.lost,
        duplicates: `${v.duplicates} (all traced)`,
        slowestRecoveryMs: slowest,
        boundMs: LEASE_MS + REAPER_MS + 1000,
      });
    } finally {
      await s.close();
    }
  });
});
