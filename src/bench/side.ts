/**
 * What each queue under test must be able to do. Both implementations run the same workloads
 * with the same sizes, so the only thing that differs between their figures is the library.
 */
export type SideName = "runway" | "bullmq";

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
