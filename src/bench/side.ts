/**
 * What each queue under test must be able to do. Every implementation in a table runs the same
 * workloads with the same sizes, so the only thing that differs between their figures is the library.
 */
export const SQLITE_SIDES = ["runway", "bullmq"] as const;
/** graphile-default is graphile-worker left at its defaults apart from concurrency: extra rows only. */
export const PG_SIDES = ["runway-pg", "graphile", "pgboss", "graphile-default"] as const;
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
