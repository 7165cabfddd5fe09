import { performance } from "node:perf_hooks";
import type { PgAdmin } from "./pg-admin.js";
import { ensurePeers, loadPeer } from "./peers.js";
import { QUEUE, type Side, prefill, sleep, timeBulkAdds, timeSingleAdds, withTimeout } from "./side.js";

// The parts of pg-boss 10 this benchmark uses; loaded from bench/peers at run time.
interface Boss {
  start(): Promise<unknown>;
  stop(options?: object): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
  createQueue(name: string): Promise<void>;
  send(name: string, data: object): Promise<string | null>;
  insert(jobs: { name: string; data: object }[]): Promise<void>;
  work(name: string, options: object, handler: (jobs: { id: string }[]) => Promise<unknown>): Promise<string>;
  offWork(name: string): Promise<void>;
}
type BossClass = new (options: object) => Boss;

export const PGBOSS_SCHEMA = "pgboss";

/**
 * pg-boss 10 has no concurrency setting: each work() call is one polling loop that fetches up to
 * batchSize jobs, runs the handler once for the batch, completes the batch and sleeps out the
 * rest of the polling interval. So concurrency c is c work() calls; the interval is the
 * documented minimum; the batch size is ours (the docs leave it open).
 */
export const PGBOSS_POLL_SECONDS = 0.5;
export const PGBOSS_BATCH = 100;
// One connection per polling loop and one to spare for sends and maintenance; the default is 10.
const POOL = 25;

export class PgbossSide implements Side {
  readonly name = "pgboss" as const;
  readonly pollIntervalMs = PGBOSS_POLL_SECONDS * 1000;
  private readonly Boss: BossClass;

  constructor(private readonly admin: PgAdmin) {
    ensurePeers(["pg-boss"]);
    this.Boss = loadPeer<BossClass>("pg-boss");
  }

  /** A new schema per workload: pg-boss's start() makes it, as on a first deploy. */
  private async fresh<T>(fn: (boss: Boss, failure: () => Error | null) => Promise<T>): Promise<T> {
    await this.admin.dropSchema(PGBOSS_SCHEMA);
    const boss = new this.Boss({ connectionString: this.admin.url, schema: PGBOSS_SCHEMA, max: POOL });
    let failure: Error | null = null;
    // Without a listener an "error" event would end the process; the workload reports it instead.
    boss.on("error", (err) => (failure ??= err));
    await boss.start();
    try {
      await boss.createQueue(QUEUE);
      const result = await fn(boss, () => failure);
      if (failure) throw new Error(`pg-boss: ${(failure as Error).message}`);
      return result;
    } finally {
      await boss.stop({ graceful: false });
    }
  }

  singleAdd(n: number, warmup: number): Promise<number> {
    return this.fresh(async (boss) => {
      return timeSingleAdds(n, warmup, (i) => boss.send(QUEUE, { i }));
    });
  }

  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number> {
    return this.fresh(async (boss) => {
      return timeBulkAdds(batches, batchSize, warmupBatches, (ix) => ix.map((i) => ({ name: QUEUE, data: { i } })), (batch) => boss.insert(batch));
    });
  }

  drain(n: number, concurrency: number): Promise<number> {
    return this.fresh(async (boss, failure) => {
      await prefill(n, (ix) => ix.map((i) => ({ name: QUEUE, data: { i } })), (batch) => boss.insert(batch));
      let ran = 0;
      let resolveRan: () => void = () => {};
      const allRan = new Promise<void>((resolve) => (resolveRan = resolve));
      const noop = async () => {};
      const options = { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: PGBOSS_POLL_SECONDS };
      const t0 = performance.now();
      try {
        for (let w = 0; w < concurrency; w++) {
          await boss.work(QUEUE, options, async (jobs) => {
            // The handler is called once per batch; each job still gets its own (no-op) call.
            await Promise.all(jobs.map(noop));
            ran += jobs.length;
            if (ran >= n) resolveRan();
          });
        }
        await withTimeout(allRan, 300_000, () => `pg-boss drain: ${ran} of ${n} jobs ran${failure() ? `; ${failure()}` : ""}`);
        // pg-boss completes a batch after its handler returns without awaiting it, so the clock
        // stops when the last completion is visible in the table.
        const t1 = await this.admin.until(
          `SELECT count(*) = $2 AS ok FROM ${PGBOSS_SCHEMA}.job WHERE name = $1 AND state = 'completed'`,
          [QUEUE, n],
          30_000,
          () => `pg-boss drain: ${n} jobs ran but not all completions were committed`,
        );
        return n / ((t1 - t0) / 1000);
      } finally {
        await boss.offWork(QUEUE);
      }
    });
  }

  latency(samples: number, warmup: number): Promise<number[]> {
    return this.fresh(async (boss) => {
      let onStart: ((at: number) => void) | null = null;
      let onDone: (() => void) | null = null;
      await boss.work(QUEUE, { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: PGBOSS_POLL_SECONDS }, async () => {
        const at = performance.now();
        onStart?.(at);
        onDone?.();
      });
      try {
        const out: number[] = [];
        for (let i = 0; i < warmup + samples; i++) {
          await sleep(2);
          const started = new Promise<number>((resolve) => (onStart = resolve));
          const done = new Promise<void>((resolve) => (onDone = resolve));
          const t0 = performance.now();
          await boss.send(QUEUE, { i });
          const at = await withTimeout(started, 10_000, () => `pg-boss latency: sample ${i} never started`);
          await withTimeout(done, 10_000, () => `pg-boss latency: sample ${i} never finished`);
          if (i >= warmup) out.push(at - t0);
        }
        return out;
      } finally {
        await boss.offWork(QUEUE);
      }
    });
  }

  async close(): Promise<void> {}
}
