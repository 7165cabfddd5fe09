import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { PgAdmin, PgPool } from "./pg-admin.js";
import { loadPg } from "./pg-admin.js";
import { ensurePeers, loadPeer } from "./peers.js";
import { KIND, type Side, prefill, sleep, timeBulkAdds, timeSingleAdds, withTimeout } from "./side.js";

// The parts of graphile-worker 0.17 this benchmark uses; loaded from bench/peers at run time.
interface WorkerUtils {
  addJob(identifier: string, payload: unknown): Promise<unknown>;
  addJobs(specs: { identifier: string; payload: unknown }[]): Promise<unknown>;
  migrate(): Promise<void>;
  release(): Promise<void>;
}
interface Runner {
  stop(): Promise<void>;
}
type LogFactory = (scope: object) => (level: string, message: string) => void;
interface GraphileWorker {
  run(options: object): Promise<Runner>;
  makeWorkerUtils(options: object): Promise<WorkerUtils>;
  Logger: new (factory: LogFactory) => object;
}

function graphile(): GraphileWorker {
  ensurePeers(["graphile-worker"]);
  // Read when the module loads: without it every job formats and prints a "Completed task" line.
  process.env.NO_LOG_SUCCESS ??= "1";
  return loadPeer<GraphileWorker>("graphile-worker");
}

/**
 * A pool for graphile-worker, opened and filled before the clock starts, as a runway store is open
 * before its worker starts: connecting is start-up, not draining.
 */
export async function openGraphilePool(url: string, size: number): Promise<PgPool> {
  const pool = new (loadPg().Pool)({ connectionString: url, max: size });
  // A pool handed to graphile-worker must come with error handlers (it warns otherwise):
  // without them a dropped connection ends the process instead of failing the workload.
  const report = (err: Error) => process.stderr.write(`graphile-worker pool: ${err.message}\n`);
  pool.on("error", report);
  pool.on("connect", (client) => client.on("error", report));
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  for (const c of clients) c.release();
  return pool;
}

export const GRAPHILE_SCHEMA = "graphile_worker";
// The performance page's maxPoolSize beside concurrency 24; the same for the defaults rows, so
// that they differ from the tuned ones only in batching.
const POOL = 25;

/**
 * "tuned" is the configuration of graphile-worker's performance page (local queue of 500,
 * batched completions and failures, a pool of 25); "default" sets the concurrency and pool
 * and leaves the rest as shipped (no local queue, one statement per completion).
 */
export type GraphileConfig = "tuned" | "default";

export class GraphileSide implements Side {
  readonly name: "graphile" | "graphile-default";
  private readonly lib = graphile();
  private readonly logger: object;

  constructor(
    private readonly admin: PgAdmin,
    private readonly config: GraphileConfig,
  ) {
    this.name = config === "tuned" ? "graphile" : "graphile-default";
    this.logger = new this.lib.Logger(() => (level, message) => {
      if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
    });
  }

  /** maxPoolSize only matters for the warning it checks against concurrency: the pool is ours. */
  private workerPreset(concurrency: number): object {
    const base = { concurrentJobs: concurrency, maxPoolSize: POOL };
    return this.config === "tuned" ? { ...base, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } : base;
  }


  /** A new schema per workload: graphile-worker's own migrations make it, as on a first deploy. */
  private async fresh<T>(fn: (utils: WorkerUtils) => Promise<T>): Promise<T> {
    await this.admin.dropSchema(GRAPHILE_SCHEMA);
    const utils = await this.lib.makeWorkerUtils({ connectionString: this.admin.url, schema: GRAPHILE_SCHEMA, logger: this.logger });
    try {
      await utils.migrate();
      return await fn(utils);
    } finally {
      await utils.release();
    }
  }

  private async start(pool: PgPool, events: EventEmitter, concurrency: number, task: () => Promise<void>): Promise<Runner> {
    return this.lib.run({
      pgPool: pool,
      schema: GRAPHILE_SCHEMA,
      logger: this.logger,
      events,
      noHandleSignals: true,
      taskList: { [KIND]: task },
      preset: { worker: this.workerPreset(concurrency) },
    });
  }

  singleAdd(n: number, warmup: number): Promise<number> {
    return this.fresh(async (utils) => {
      return timeSingleAdds(n, warmup, (i) => utils.addJob(KIND, { i }));
    });
  }

  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number> {
    return this.fresh(async (utils) => {
      return timeBulkAdds(batches, batchSize, warmupBatches, (ix) => ix.map((i) => ({ identifier: KIND, payload: { i } })), (batch) => utils.addJobs(batch));
    });
  }

  drain(n: number, concurrency: number): Promise<number> {
    return this.fresh(async (utils) => {
      await prefill(n, (ix) => ix.map((i) => ({ identifier: KIND, payload: { i } })), (batch) => utils.addJobs(batch));
      const pool = await openGraphilePool(this.admin.url, POOL);
      const events = new EventEmitter();
      let done = 0;
      let failed = 0;
      const ran = new Promise<void>((resolve) => {
        events.on("job:complete", ({ error }: { error?: unknown }) => {
          if (error) failed++;
          else if (++done === n) resolve();
        });
      });
      let runner: Runner | null = null;
      try {
        const t0 = performance.now();
        runner = await this.start(pool, events, concurrency, async () => {});
        await withTimeout(ran, 300_000, () => `graphile-worker drain: ${done} of ${n} jobs ran, ${failed} failed`);
        // "job:complete" fires before the completion is written (batched or not, it is not awaited);
        // a completed job is deleted, so the clock stops when the table is seen empty.
        const t1 = await this.admin.until(
          `SELECT NOT EXISTS (SELECT 1 FROM ${GRAPHILE_SCHEMA}._private_jobs) AS ok`,
          [],
          30_000,
          () => `graphile-worker drain: ${n} jobs ran but not all completions were committed`,
        );
        if (failed > 0) throw new Error(`graphile-worker drain: ${failed} jobs failed`);
        return n / ((t1 - t0) / 1000);
      } finally {
        await runner?.stop();
        await pool.end();
      }
    });
  }

  latency(samples: number, warmup: number): Promise<number[]> {
    return this.fresh(async (utils) => {
      const pool = await openGraphilePool(this.admin.url, POOL);
      const events = new EventEmitter();
      let onStart: ((at: number) => void) | null = null;
      let onCompleted: (() => void) | null = null;
      events.on("job:complete", () => onCompleted?.());
      const runner = await this.start(pool, events, 1, async () => {
        const at = performance.now();
        onStart?.(at);
      });
      try {
        const out: number[] = [];
        for (let i = 0; i < warmup + samples; i++) {
          await sleep(2);
          const started = new Promise<number>((resolve) => (onStart = resolve));
          const completed = new Promise<void>((resolve) => (onCompleted = resolve));
          const t0 = performance.now();
          await utils.addJob(KIND, { i });
          const at = await withTimeout(started, 10_000, () => `graphile-worker latency: sample ${i} never started`);
          await withTimeout(completed, 10_000, () => `graphile-worker latency: sample ${i} never completed`);
          if (i >= warmup) out.push(at - t0);
        }
        return out;
      } finally {
        await runner.stop();
        await pool.end();
      }
    });
  }

  async close(): Promise<void> {}
}
