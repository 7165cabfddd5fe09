/** Claim race: 10,000 jobs taken by 1, 8 and 32 workers at once: none twice, none lost. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { addJobs, assertBuilt, exited, killChildren, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { checkOracle, startFaultWorker, verdict } from "./oracle.js";
import { STORE_KINDS, faultStore } from "./stores.js";

const tmp = tempDir("rw-faults-");
beforeAll(assertBuilt);
afterEach(killChildren);
afterAll(tmp.cleanup);

const SHAPES = [
  { workers: 1, processes: 1, slots: 1 },
  { workers: 8, processes: 8, slots: 1 },
  { workers: 32, processes: 8, slots: 4 },
];

describe.each(STORE_KINDS)("claim race on %s", (kind) => {
  it.each(SHAPES)("10,000 jobs, $workers workers ($processes processes × $slots slots): zero duplicates, zero lost", async (shape) => {
    const s = await faultStore(kind, tmp.dir, `race${shape.workers}`);
    try {
      await s.store.queueEnsure({ queue: "race", concurrency: null });
      const ids = await addJobs(s.store, "race", 10_000);
      const t0 = Date.now();
      const workers = await Promise.all(
        Array.from({ length: shape.processes }, () => startFaultWorker({ db: s.db, log: s.log, concurrency: shape.slots, queue: "race", leaseMs: 30_000, reaperMs: 1_000 })),
      );
      await until("the drain", async () => (await s.store.queueStats({ queue: "race" }))[0]!.counts.completed === ids.length, 120_000);
      const seconds = (Date.now() - t0) / 1000;
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(workers.map(exited));
      const v = await checkOracle({ store: s.store, ids, log: s.log });
      expect(v.duplicates).toBe(0);
      expect(v.lost).toBe(0);
      verdict(`claim race, ${kind}, ${shape.workers} workers`, { jobs: v.jobs, completed: v.completed, duplicates: v.duplicates, lost: v.lost, seconds: seconds.toFixed(1) });
    } finally {
      await s.close();
    }
  });
});
