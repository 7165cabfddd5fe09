import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Runway, open } from "../../src/index.js";
import { type PgAdmin, withSchema } from "./pg-admin.js";
import { KIND, QUEUE, type Side, prefill, sleep, timeBulkAdds, timeSingleAdds, withTimeout } from "./side.js";

type Durability = "normal" | "full";

/** Where a workload's runway lives: made empty before it and removed after it. */
export interface RunwayTarget {
  fresh(): Promise<{ rw: Runway; dispose: () => Promise<void> }>;
}

/** Every workload gets a new file, so no run reads pages or index entries left by another. */
export function sqliteTarget(dir: string, durability: Durability = "normal"): RunwayTarget {
  let seq = 0;
  return {
    async fresh() {
      const path = join(dir, `runway-${process.pid}-${++seq}.db`);
      const rw = open({ db: path, durability });
      return {
        rw,
        dispose: async () => {
          for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
        },
      };
    },
  };
}

export const RUNWAY_PG_SCHEMA = "runway";

/**
 * The URL with `options=-c synchronous_commit=off`: every connection runway's store opens with it
 * starts with commits that return before their WAL is flushed (crash-safe, not power-loss-safe),
 * while the server, and the peers' connections, keep its own setting.
 */
export function pgAsyncUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set("options", "-c synchronous_commit=off");
  return u.toString();
}

/**
 * The PostgreSQL counterpart: the schema is dropped, and runway's migrations make it again.
 * `synchronousCommit: "off"` opens the store through pgAsyncUrl.
 */
export function pgTarget(admin: PgAdmin, schema = RUNWAY_PG_SCHEMA, opts: { synchronousCommit?: "server" | "off" } = {}): RunwayTarget {
  const url = opts.synchronousCommit === "off" ? pgAsyncUrl(admin.url) : admin.url;
  return {
    async fresh() {
      await admin.dropSchema(schema);
      const rw = open({ db: withSchema(url, schema) });
      return { rw, dispose: async () => {} };
    },
  };
}

/**
 * Whether this build of runway can open a PostgreSQL URL at all; null if it can, else why not.
 * Only the opening is forgiven: once it works, a failing workload fails the run like any other.
 */
export async function probeRunwayPg(admin: PgAdmin): Promise<string | null> {
  const schema = "runway_probe";
  try {
    const { rw } = await pgTarget(admin, schema).fresh();
    try {
      await rw.queue("probe");
    } finally {
      await rw.close();
    }
    return null;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return /not supported by this version/i.test(message)
      ? "runway PostgreSQL store not built yet"
      : `runway PostgreSQL store unavailable: ${message}`;
  } finally {
    await admin.dropSchema(schema).catch(() => {});
  }
}

/**
 * The drain's worker setup: a queue without a limit (the peers have none either), the worker's
 * slots as the concurrency, and a local buffer of 500 claimed jobs, as graphile-worker's
 * documented best configuration has.
 */
export const RUNWAY_PREFETCH = 500;

export class RunwaySide implements Side {
  constructor(
    readonly name: "runway" | "runway-full" | "runway-pg" | "runway-pg-async",
    private readonly target: RunwayTarget,
  ) {}

  private async fresh<T>(fn: (rw: Runway) => Promise<T>): Promise<T> {
    const { rw, dispose } = await this.target.fresh();
    try {
      return await fn(rw);
    } finally {
      await rw.close();
      await dispose();
    }
  }

  singleAdd(n: number, warmup: number): Promise<number> {
    return this.fresh(async (rw) => {
      await rw.queue(QUEUE);
      return timeSingleAdds(n, warmup, (i) => rw.add(KIND, { i }, { queue: QUEUE }));
    });
  }

  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number> {
    return this.fresh(async (rw) => {
      await rw.queue(QUEUE);
      return timeBulkAdds(batches, batchSize, warmupBatches, (ix) => ix.map((i) => ({ kind: KIND, queue: QUEUE, payload: { i } })), (batch) => rw.addMany(batch));
    });
  }

  drain(n: number, concurrency: number): Promise<number> {
    return this.fresh(async (rw) => {
      // No queue limit (its default is 1): the worker's slots are the concurrency.
      await rw.queue(QUEUE, { concurrency: null });
      await prefill(n, (ix) => ix.map((i) => ({ kind: KIND, queue: QUEUE, payload: { i } })), (batch) => rw.addMany(batch));
      let done = 0;
      // "completed" is emitted once the completion is committed, so the last one ends the clock.
      const finished = new Promise<number>((resolve) => {
        rw.on("completed", () => {
          if (++done === n) resolve(performance.now());
        });
      });
      // The worker claims as soon as it is created: there is no start-up phase to leave out.
      const t0 = performance.now();
      const w = rw.worker({ concurrency, prefetch: RUNWAY_PREFETCH, queues: [QUEUE], handlers: { [KIND]: async () => {} } });
      const t1 = await withTimeout(finished, 300_000, () => `runway drain: ${done} of ${n} jobs completed`);
      await w.stop();
      const [stats] = await rw.stats(QUEUE);
      if (stats?.counts.completed !== n) throw new Error(`runway drain: ${stats?.counts.completed} of ${n} jobs recorded completed`);
      return n / ((t1 - t0) / 1000);
    });
  }

  latency(samples: number, warmup: number): Promise<number[]> {
    return this.fresh(async (rw) => {
      await rw.queue(QUEUE, { concurrency: 1 });
      let onStart: ((at: number) => void) | null = null;
      let onCompleted: (() => void) | null = null;
      rw.on("completed", () => onCompleted?.());
      const w = rw.worker({
        concurrency: 1,
        queues: [QUEUE],
        handlers: {
          [KIND]: async () => {
            const at = performance.now();
            onStart?.(at);
          },
        },
      });
      const out: number[] = [];
      for (let i = 0; i < warmup + samples; i++) {
        // A short pause lets the worker settle back into waiting, so each sample sees an idle worker.
        await sleep(2);
        const started = new Promise<number>((resolve) => (onStart = resolve));
        const completed = new Promise<void>((resolve) => (onCompleted = resolve));
        const t0 = performance.now();
        await rw.add(KIND, { i }, { queue: QUEUE });
        const at = await withTimeout(started, 10_000, () => `runway latency: sample ${i} never started`);
        await withTimeout(completed, 10_000, () => `runway latency: sample ${i} never completed`);
        if (i >= warmup) out.push(at - t0);
      }
      await w.stop();
      return out;
    });
  }

  async close(): Promise<void> {}
}
