import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Runway, open } from "../index.js";
import { KIND, QUEUE, type Side, batchOf, sleep, withTimeout } from "./side.js";

type Durability = "normal" | "full";

export class RunwaySide implements Side {
  readonly name = "runway" as const;
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly durability: Durability = "normal",
  ) {}

  /** Every workload gets a new file, so no run reads pages or index entries left by another. */
  private async fresh<T>(fn: (rw: Runway) => Promise<T>): Promise<T> {
    const path = join(this.dir, `runway-${process.pid}-${++this.seq}.db`);
    const rw = open({ db: path, durability: this.durability });
    try {
      return await fn(rw);
    } finally {
      await rw.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    }
  }

  singleAdd(n: number, warmup: number): Promise<number> {
    return this.fresh(async (rw) => {
      await rw.queue(QUEUE);
      for (let i = 0; i < warmup; i++) await rw.add(KIND, { i }, { queue: QUEUE });
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await rw.add(KIND, { i }, { queue: QUEUE });
      return n / ((performance.now() - t0) / 1000);
    });
  }

  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number> {
    return this.fresh(async (rw) => {
      await rw.queue(QUEUE);
      const specs = (b: number) => batchOf(batchSize, b * batchSize).map((i) => ({ kind: KIND, queue: QUEUE, payload: { i } }));
      for (let b = 0; b < warmupBatches; b++) await rw.addMany(specs(b));
      const prepared = Array.from({ length: batches }, (_, b) => specs(warmupBatches + b));
      const t0 = performance.now();
      for (const batch of prepared) await rw.addMany(batch);
      return (batches * batchSize) / ((performance.now() - t0) / 1000);
    });
  }

  drain(n: number, concurrency: number): Promise<number> {
    return this.fresh(async (rw) => {
      // The queue's own limit applies on top of the worker's slots, and defaults to 1.
      await rw.queue(QUEUE, { concurrency });
      for (let offset = 0; offset < n; offset += 1000) {
        await rw.addMany(batchOf(Math.min(1000, n - offset), offset).map((i) => ({ kind: KIND, queue: QUEUE, payload: { i } })));
      }
      let done = 0;
      // "completed" is emitted once the completion is committed, so the last one ends the clock.
      const finished = new Promise<number>((resolve) => {
        rw.on("completed", () => {
          if (++done === n) resolve(performance.now());
        });
      });
      // The worker claims as soon as it is created: there is no start-up phase to leave out.
      const t0 = performance.now();
      const w = rw.worker({ concurrency, queues: [QUEUE], handlers: { [KIND]: async () => {} } });
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
