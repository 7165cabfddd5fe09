/** What a person does to a job that is not theirs to run: cancel, skip, requeue, move. */
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import { DOOMED_STATUSES, type JobStatus, WAITING_STATUSES } from "../job.js";
import { readyStatus } from "./decide.js";
import { skipReason } from "./finish.js";
import type { Plan, StoredJob } from "./plan.js";

/** A dependency's state, as requeue and re-skip read it. */
export interface DepState {
  id: string;
  status: JobStatus;
  skippedBy: string | null;
}

const noEffects = { attempt: null, downstream: null, successor: null } as const;

/** A waiting job ends cancelled and takes its dependents down; a running one is asked to stop (its worker ends it). */
export function planCancel(job: StoredJob, p: { reason?: string; now: number }): Plan {
  if (job.status === "running") return { id: job.id, patch: { abortRequested: "cancel" }, ...noEffects };
  if (!WAITING_STATUSES.includes(job.status)) {
    throw new ConflictError(`job ${job.id} is ${job.status}; only queued, scheduled, blocked or running jobs can be cancelled`);
  }
  return {
    id: job.id,
    patch: { status: "cancelled", reason: p.reason ?? "cancelled by request", finishedAt: p.now },
    ...noEffects,
    downstream: { action: "skip", root: job.id, reason: skipReason(job.id, "cancelled") },
  };
}

export function planSkip(job: StoredJob, p: { reason?: string; now: number }): Plan {
  if (!WAITING_STATUSES.includes(job.status)) {
    const hint = job.status === "running" ? " (cancel a running job instead)" : "";
    throw new ConflictError(`job ${job.id} is ${job.status}; only queued, scheduled or blocked jobs can be skipped${hint}`);
  }
  return {
    id: job.id,
    patch: { status: "skipped", reason: p.reason ?? "skipped by request", skippedBy: null, finishedAt: p.now },
    ...noEffects,
    downstream: { action: "skip", root: job.id, reason: skipReason(job.id, "skipped") },
  };
}

/**
 * A failed, cancelled or skipped job goes back to its queue with a fresh budget of attempts; its
 * history and attempt numbers carry on. Jobs skipped because of it wait again.
 */
export function planRequeue(job: StoredJob, p: { targetExists: boolean; deps: readonly DepState[]; now: number }): Plan {
  if (!DOOMED_STATUSES.includes(job.status)) {
    throw new ConflictError(`job ${job.id} is ${job.status}; only failed, cancelled or skipped jobs can be requeued`);
  }
  // No lane would ever take it: its target is gone.
  if (job.target !== null && !p.targetExists) throw new NotFoundError("target", job.target);
  const doomed = p.deps.find((d) => DOOMED_STATUSES.includes(d.status));
  if (doomed) {
    const root = doomed.skippedBy ?? doomed.id;
    throw new ConflictError(`job ${job.id} depends on ${doomed.id}, which is ${doomed.status}; requeue ${root} first and this job follows`);
  }
  return {
    id: job.id,
    patch: {
      status: readyStatus({ runAt: p.now, now: p.now, depStatuses: p.deps.map((d) => d.status) }),
      attempts: 0,
      runAt: p.now,
      error: null,
      resultJson: null,
      reason: null,
      progress: null,
      skippedBy: null,
      startedAt: null,
      finishedAt: null,
      workerId: null,
      abortRequested: null,
      endLease: true,
    },
    ...noEffects,
    downstream: { action: "unskip" },
  };
}

/** A requeue's unique key is taken by another active job of the queue. */
export function keyHeldError(job: Pick<StoredJob, "id" | "key">, holder: string | null): ConflictError {
  return new ConflictError(`job ${job.id} has key ${JSON.stringify(job.key)}, now held by job ${String(holder)}`);
}

/**
 * A job put back to blocked by a requeue upstream stays skipped when another of its dependencies
 * is still failed, cancelled or skipped; the cascade then continues from it.
 */
export function planReskip(job: Pick<StoredJob, "id">, p: { deps: readonly DepState[]; now: number }): Plan | null {
  const doomed = p.deps.find((d) => DOOMED_STATUSES.includes(d.status));
  if (!doomed) return null;
  const by = doomed.skippedBy ?? doomed.id;
  return {
    id: job.id,
    patch: { status: "skipped", skippedBy: by, reason: `upstream job ${by} ${doomed.status}`, finishedAt: p.now },
    ...noEffects,
    downstream: { action: "skip", root: job.id, reason: skipReason(job.id, "skipped") },
  };
}

// ---------------------------------------------------------------------------------------------
// Moving: a job that has not started takes a position between its neighbours.

export function checkMovable(job: StoredJob): void {
  if (!WAITING_STATUSES.includes(job.status)) throw new ConflictError(`job ${job.id} is ${job.status}; only jobs that have not started can be moved`);
}

/** The job another is moved before or after must be another job of the same queue. */
export function checkMoveBeside(job: StoredJob, other: StoredJob): void {
  if (other.id === job.id) throw new ValidationError("to", "a job cannot be moved relative to itself");
  if (other.queue !== job.queue) throw new ValidationError("to", `job ${other.id} is in queue ${other.queue}, not ${job.queue}; move within one queue`);
}

/** Top: before every waiting job of its priority (`first`: the lowest of their positions). */
export function positionAtTop(position: number, first: number | null): number {
  return Math.min(first ?? position, position) - 1;
}

/**
 * Halfway between `other` and its neighbour on one side, or one step past it when it has none;
 * null when the gap is too narrow to split and the queue must be spread out first.
 */
export function positionBeside(other: number, neighbour: number | null, before: boolean): number | null {
  if (neighbour === null) return before ? other - 1 : other + 1;
  const mid = (neighbour + other) / 2;
  return mid === neighbour || mid === other ? null : mid;
}

/**
 * New positions for the waiting jobs of a queue (in order), spread evenly over the range they
 * already span so jobs added later still sort after them, but at least one unit apart.
 */
export function spreadPositions(positions: readonly number[]): number[] {
  if (positions.length < 2) return [...positions];
  const lo = positions[0]!;
  const step = Math.max(1, (positions.at(-1)! - lo) / (positions.length - 1));
  return positions.map((_, i) => lo + i * step);
}
