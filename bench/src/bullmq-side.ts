import { performance } from "node:perf_hooks";
import { ensurePeers, loadPeer } from "./peers.js";
import { KIND, QUEUE, type Side, prefill, sleep, timeBulkAdds, timeSingleAdds, withTimeout } from "./side.js";

// The parts of BullMQ and ioredis this benchmark uses; they are loaded from bench/peers at run time.
interface Queue {
  add(name: string, data: unknown): Promise<unknown>;
  addBulk(jobs: { name: string; data: unknown }[]): Promise<unknown>;
  waitUntilReady(): Promise<unknown>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}
interface Worker {
  on(event: string, listener: (...args: any[]) => void): void;
  waitUntilReady(): Promise<unknown>;
  run(): Promise<void>;
  close(): Promise<void>;
}
interface Redis {
  connect(): Promise<void>;
  flushdb(): Promise<unknown>;
  info(section: string): Promise<string>;
  config(...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}
interface BullMQ {
  Queue: new (name: string, opts: object) => Queue;
  Worker: new (name: string, processor: () => Promise<void>, opts: object) => Worker;
}

function peers(): { Queue: BullMQ["Queue"]; Worker: BullMQ["Worker"]; Redis: new (opts: object) => Redis } {
  ensurePeers(["bullmq", "ioredis"]);
  const { Queue, Worker } = loadPeer<BullMQ>("bullmq");
  const { Redis } = loadPeer<{ Redis: new (opts: object) => Redis }>("ioredis");
  return { Queue, Worker, Redis };
}

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

export class BullmqSide implements Side {
  readonly name = "bullmq" as const;
  private readonly admin: Redis;
  // BullMQ refuses blocking connections that give up on retries; null is what its docs ask for.
  private readonly connection: { host: string; port: number; db: number; maxRetriesPerRequest: null };

  private readonly lib = peers();

  constructor(target: RedisTarget) {
    this.connection = { ...target, maxRetriesPerRequest: null };
    this.admin = new this.lib.Redis({ ...target, lazyConnect: true });
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  /** The Redis counterpart of a new database file: nothing left over from the previous workload. */
  private async fresh<T>(fn: (queue: Queue) => Promise<T>): Promise<T> {
    await this.admin.flushdb();
    const queue = new this.lib.Queue(QUEUE, { connection: this.connection });
    try {
      await queue.waitUntilReady();
      return await fn(queue);
    } finally {
      await queue.close();
    }
  }

  singleAdd(n: number, warmup: number): Promise<number> {
    return this.fresh(async (queue) => {
      return timeSingleAdds(n, warmup, (i) => queue.add(KIND, { i }));
    });
  }

  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number> {
    return this.fresh(async (queue) => {
      return timeBulkAdds(batches, batchSize, warmupBatches, (ix) => ix.map((i) => ({ name: KIND, data: { i } })), (batch) => queue.addBulk(batch));
    });
  }

  drain(n: number, concurrency: number): Promise<number> {
    return this.fresh(async (queue) => {
      await prefill(n, (ix) => ix.map((i) => ({ name: KIND, data: { i } })), (batch) => queue.addBulk(batch));
      const worker = new this.lib.Worker(QUEUE, async () => {}, { connection: this.connection, concurrency, autorun: false });
      let done = 0;
      let failure: Error | null = null;
      worker.on("error", (err) => (failure = err));
      // "completed" follows the script that moved the job to the completed set.
      const finished = new Promise<number>((resolve) => {
        worker.on("completed", () => {
          if (++done === n) resolve(performance.now());
        });
      });
      try {
        // Connecting and loading the Lua scripts is start-up, not draining: left out of the time.
        await worker.waitUntilReady();
        const t0 = performance.now();
        const running = worker.run();
        running.catch((err: Error) => (failure = err));
        const t1 = await withTimeout(finished, 300_000, () => `BullMQ drain: ${done} of ${n} jobs completed${failure ? `; ${failure}` : ""}`);
        const counts = await queue.getJobCounts("completed");
        if (counts.completed !== n) throw new Error(`BullMQ drain: ${counts.completed} of ${n} jobs recorded completed`);
        return n / ((t1 - t0) / 1000);
      } finally {
        await worker.close();
      }
    });
  }

  latency(samples: number, warmup: number): Promise<number[]> {
    return this.fresh(async (queue) => {
      let onStart: ((at: number) => void) | null = null;
      let onCompleted: (() => void) | null = null;
      const worker = new this.lib.Worker(
        QUEUE,
        async () => {
          const at = performance.now();
          onStart?.(at);
        },
        { connection: this.connection, concurrency: 1 },
      );
      worker.on("completed", () => onCompleted?.());
      try {
        await worker.waitUntilReady();
        const out: number[] = [];
        for (let i = 0; i < warmup + samples; i++) {
          await sleep(2);
          const started = new Promise<number>((resolve) => (onStart = resolve));
          const completed = new Promise<void>((resolve) => (onCompleted = resolve));
          const t0 = performance.now();
          await queue.add(KIND, { i });
          const at = await withTimeout(started, 10_000, () => `BullMQ latency: sample ${i} never started`);
          await withTimeout(completed, 10_000, () => `BullMQ latency: sample ${i} never completed`);
          if (i >= warmup) out.push(at - t0);
        }
        return out;
      } finally {
        await worker.close();
      }
    });
  }

  /**
   * Turns the AOF on with the given fsync policy for this run (CONFIG SET, never written to the
   * server's config file), waits for the rewrite that starts it to end, and returns what puts
   * the previous settings back.
   */
  async persist(appendfsync: "everysec" | "always"): Promise<() => Promise<void>> {
    const get = async (key: string) => ((await this.admin.config("GET", key)) as string[])[1] ?? "";
    const before = { appendonly: await get("appendonly"), appendfsync: await get("appendfsync") };
    await this.admin.config("SET", "appendfsync", appendfsync);
    await this.admin.config("SET", "appendonly", "yes");
    const deadline = performance.now() + 120_000;
    for (;;) {
      const info = await this.admin.info("persistence");
      if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) break;
      if (performance.now() > deadline) throw new Error("Redis did not finish the AOF rewrite that turning appendonly on starts within 120 s");
      await sleep(50);
    }
    return async () => {
      await this.admin.config("SET", "appendonly", before.appendonly);
      await this.admin.config("SET", "appendfsync", before.appendfsync);
    };
  }

  /** Versions and persistence settings as the server reports them, not as assumed. */
  async serverInfo(): Promise<{ version: string; appendonly: string; appendfsync: string; save: string }> {
    const info = await this.admin.info("server");
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
    const config = async (key: string) => {
      try {
        const reply = (await this.admin.config("GET", key)) as string[];
        return reply[1] ?? "unknown";
      } catch {
        return "unknown (CONFIG disabled)";
      }
    };
    return { version, appendonly: await config("appendonly"), appendfsync: await config("appendfsync"), save: await config("save") };
  }

  async close(): Promise<void> {
    await this.admin.quit();
  }
}
