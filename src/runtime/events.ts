import { EventEmitter } from "node:events";
import type { Job, Json } from "../core/job.js";

/** What happened to a job or a queue, as seen by this process. */
export interface RunwayEvents {
  added: { job: Job };
  started: { job: Job; workerId: string };
  progress: { job: Job; progress: Json };
  log: { job: Job; line: string };
  completed: { job: Job; result: unknown; durationMs: number };
  /** A failed attempt that will be tried again. */
  retrying: { job: Job; error: string; retryAt: number };
  /** The job has no attempts left and ended failed. */
  failed: { job: Job; error: string };
  /** The job ended failed and a successor took it over on another queue or kind. */
  escalated: { job: Job; error: string; to: string };
  cancelled: { job: Job };
  /** Skipped on request (jobs skipped because an upstream job ended are not announced one by one). */
  skipped: { job: Job };
  /** "queue completed": nothing is left queued, scheduled, blocked or running in the queue. */
  drained: { queue: string };
  /** Trouble the worker recovers from on its own (a lost database connection, a busy file). */
  warning: { message: string; error?: unknown };
}

export type EventName = keyof RunwayEvents;

export class TypedEmitter extends EventEmitter {
  override on<E extends EventName>(event: E, listener: (payload: RunwayEvents[E]) => void): this {
    return super.on(event, listener);
  }
  override once<E extends EventName>(event: E, listener: (payload: RunwayEvents[E]) => void): this {
    return super.once(event, listener);
  }
  override off<E extends EventName>(event: E, listener: (payload: RunwayEvents[E]) => void): this {
    return super.off(event, listener);
  }
  override emit<E extends EventName>(event: E, payload: RunwayEvents[E]): boolean {
    return super.emit(event, payload);
  }
}
