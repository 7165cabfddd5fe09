/**
 * The contract between runway and the code that does a job: a handler's signature, the context
 * it is given, and the errors that say how its attempt ended. Executors and workers both build
 * on it, so it lives in core and imports nothing outside it.
 */
import type { Job, Json, RemoteRun } from "./job.js";

export interface JobContext {
  /** Fires when the attempt must stop: cancelled, timed out, lease lost, queue stopped or shutdown. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  workerId: string;
  /** Records how far the job has got (any JSON value); shown by `show` and the dashboard. */
  progress(value: Json): Promise<void>;
  /** Appends a line to the job's log. */
  log(line: string): void;
  /**
   * Records the attempt's run on a remote target before launching it, so a worker that takes the
   * job over adopts that run instead of starting another. Throws when the lease is gone.
   */
  recordRun(run: RemoteRun | null): Promise<void>;
}

export type Handler<TPayload = unknown, TResult = unknown> = (
  job: Job<TPayload>,
  ctx: JobContext,
) => Promise<TResult> | TResult;

export type AbortKind = "cancel" | "requeue" | "timeout" | "lease-lost" | "shutdown";

/** The reason an attempt's signal carries: what asked it to stop, and why in words. */
export class AttemptAborted extends Error {
  override name = "AttemptAborted";
  constructor(
    readonly kind: AbortKind,
    message: string,
  ) {
    super(message);
  }
}

/** Throw this from a handler to put the job back in its queue without using an attempt (e.g. its target cannot be reached). */
export class ReleaseJob extends Error {
  override name = "ReleaseJob";
}

/** Throw this from a handler to fail the job without using its remaining attempts. */
export class PermanentFailure extends Error {
  override name = "PermanentFailure";
}
