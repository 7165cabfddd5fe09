/**
 * Terminology
 * - job: one unit of work with an id, a queue, a kind, a payload, a status and its attempts.
 * - queue: a named, ordered lane of jobs with a state (running, paused, stopped) and a
 *   concurrency limit that holds across every worker of every process. Default concurrency 1.
 * - kind: the name of the handler that runs the job.
 * - attempt: one execution. A claim starts it and hands the worker a lease (an expiry time)
 *   and a fencing token; only the holder of the current token can finish the attempt.
 * - worker: claims jobs from queues and runs them in a pool of slots.
 * - store: the persistence seam; everything durable goes through it.
 */
import type { Backoff } from "./backoff.js";
import type { Priority } from "./priority.js";

/**
 * - queued: ready to be claimed.
 * - scheduled: waits for a time (a delay, or the backoff before a retry), then becomes queued.
 * - blocked: waits for its dependencies to complete, then becomes queued (or scheduled).
 * - running: claimed by a worker that holds its lease.
 * - completed, failed, cancelled, skipped: terminal until a person requeues the job.
 */
export const JOB_STATUSES = [
  "queued",
  "scheduled",
  "blocked",
  "running",
  "completed",
  "failed",
  "cancelled",
  "skipped",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "scheduled", "blocked", "running"];
/** Not yet claimed: the jobs that can still be moved in their queue or skipped. */
export const WAITING_STATUSES: readonly JobStatus[] = ["queued", "scheduled", "blocked"];
export const FINISHED_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled", "skipped"];
/** A job that ends in one of these takes its dependents down with it. */
export const DOOMED_STATUSES: readonly JobStatus[] = ["failed", "cancelled", "skipped"];

export const QUEUE_STATES = ["running", "paused", "stopped"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Job<TPayload = unknown, TResult = unknown> {
  id: string;
  queue: string;
  kind: string;
  payload: TPayload;
  status: JobStatus;
  priority: Priority;
  /** Order inside a priority: lower runs first. Changed by move. */
  position: number;
  name: string | null;
  labels: Record<string, string>;
  dependsOn: string[];
  maxAttempts: number;
  /** Attempts spent against `maxAttempts`; a requeue gives a fresh budget and a released attempt is not counted. */
  attempts: number;
  /** The number of the latest attempt (1 for the first, 0 before any); never reused, so every attempt has a number of its own. */
  attempt: number;
  backoff: Backoff;
  timeoutMs: number | null;
  key: string | null;
  /** Epoch ms; a scheduled job waits until then. */
  runAt: number;
  result: TResult | null;
  error: string | null;
  /** Why the job ended as it did when that is not obvious: the upstream of a skip, "escalated"… */
  reason: string | null;
  progress: Json | null;
  /** A shell job's exit code in its latest attempt. */
  exitCode: number | null;
  /** The remote target the job runs on; null: on the worker's machine. */
  target: string | null;
  /** The run on the target of the latest attempt that was launched there. */
  remote: RemoteRun | null;
  escalatedFrom: string | null;
  escalatedTo: string | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/**
 * A launch on a target, recorded before the launch: a worker that claims the job again for the
 * same attempt (its previous worker died or stopped) adopts this run instead of starting another.
 */
export interface RemoteRun {
  runId: string;
  attempt: number;
  launchedAt: number;
}

export interface Attempt {
  jobId: string;
  attempt: number;
  workerId: string | null;
  startedAt: number;
  finishedAt: number;
  outcome: "completed" | "failed" | "cancelled" | "released" | "lost";
  error: string | null;
  exitCode: number | null;
}

export interface QueueInfo {
  name: string;
  state: QueueState;
  /** null: no limit. */
  concurrency: number | null;
  createdAt: number;
}

export interface EscalationRule {
  /** Which failing jobs the rule applies to; null matches any. At least one is set. */
  queue: string | null;
  kind: string | null;
  /** Escalate once this many attempts have failed (or when attempts run out, if sooner). */
  after: number;
  /** Where the new job goes; a null keeps the failing job's queue or kind. */
  toQueue: string | null;
  toKind: string | null;
}
