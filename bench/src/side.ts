/**
 * What each queue under test must be able to do. Every implementation in a table runs the same
 * workloads with the same sizes, so the only thing that differs between their figures is the library.
 */
/** runway runs with synchronous=NORMAL (crash-safe), runway-full with synchronous=FULL (power-loss-safe). */
export const SQLITE_SIDES = ["runway", "runway-full", "bullmq"] as const;
/**
 * graphile-default is graphile-worker left at its defaults apart from concurrency: extra rows only.
 * runway-pg keeps the server's synchronous_commit (on), as the peers do; runway-pg-async sets it
 * off for its own connections.
 */
export const PG_SIDES = ["runway-pg", "runway-pg-async", "graphile", "pgboss", "graphile-default"] as const;
export type SqliteSideName = (typeof SQLITE_SIDES)[number];
export type PgSideName = (typeof PG_SIDES)[number];
export type SideName = SqliteSideName | PgSideName;

export interface Side {
  readonly name: SideName;
  /** `n` jobs added one at a time, each awaited before the next; returns jobs/s. */
  singleAdd(n: number, warmup: number): Promise<number>;
  /** `batches` batches of `batchSize` jobs, each batch one call; returns jobs/s. */
  bulkAdd(batches: number, batchSize: number, warmupBatches: number): Promise<number>;
  /** Prefills `n` no-op jobs, then runs them at `concurrency`; returns jobs/s. */
  drain(n: number, concurrency: number): Promise<number>;
  /** Milliseconds from just before each add to the start of its handler, on an idle worker. */
  latency(samples: number, warmup: number): Promise<number[]>;
  /** Set by sides that only see new jobs by polling, whose latency samples take a poll interval each. */
  readonly pollIntervalMs?: number;
  close(): Promise<void>;
}

export const QUEUE = "bench";
export const KIND = "noop";

/** A hung workload must end the run with a message rather than wait forever. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The per-job payloads are built before the clock starts, so neither side pays for them. */
export function batchOf(size: number, offset: number): number[] {
  return Array.from({ length: size }, (_, k) => offset + k);
}

/**
 * The add workloads, shaped the same for every side so only the library differs: warm-up first,
 * then the clock around the adds alone. `add` and `addBatch` are the side's own calls.
 */
export async function timeSingleAdds(n: number, warmup: number, add: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warmup; i++) await add(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await add(i);
  return n / ((performance.now() - t0) / 1000);
}

export async function timeBulkAdds<B>(
  batches: number,
  batchSize: number,
  warmupBatches: number,
  make: (indexes: number[]) => B,
  addBatch: (batch: B) => Promise<unknown>,
): Promise<number> {
  const specs = (b: number) => make(batchOf(batchSize, b * batchSize));
  for (let b = 0; b < warmupBatches; b++) await addBatch(specs(b));
  const prepared = Array.from({ length: batches }, (_, b) => specs(warmupBatches + b));
  const t0 = performance.now();
  for (const batch of prepared) await addBatch(batch);
  return (batches * batchSize) / ((performance.now() - t0) / 1000);
}

/** Fills a queue with `n` jobs before a drain, 1,000 per call, untimed. */
export async function prefill<B>(n: number, make: (indexes: number[]) => B, addBatch: (batch: B) => Promise<unknown>): Promise<void> {
  for (let offset = 0; offset < n; offset += 1000) await addBatch(make(batchOf(Math.min(1000, n - offset), offset)));
}
