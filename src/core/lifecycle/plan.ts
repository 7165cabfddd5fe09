/**
 * The shape of every decision the lifecycle makes. A plan is data: the store reads the job,
 * asks core for a plan and applies it with its own SQL inside its own transaction, so a rule
 * about how a job moves is written once and both dialects obey it.
 */
import type { Attempt, Job, JobStatus } from "../job.js";
import type { NewJob } from "../spec.js";

/** A job as the store holds it: the public model plus what only the lifecycle reads. */
export interface StoredJob extends Job {
  /** A person asked the running attempt to stop: cancel the job, or put it back (queue stopped). */
  abortRequested: "cancel" | "requeue" | null;
  /** The root of the cascade that skipped this job, so a requeue of the root can undo it. */
  skippedBy: string | null;
}

/** The fields a transition writes; a field left out keeps its stored value. */
export interface JobPatch {
  status?: JobStatus;
  /** Attempts spent against the budget (maxAttempts). */
  attempts?: number;
  /** The number of the latest attempt; never goes back, so history never repeats a number. */
  attempt?: number;
  runAt?: number;
  /** The result as JSON text. */
  resultJson?: string | null;
  error?: string | null;
  reason?: string | null;
  progress?: null;
  skippedBy?: string | null;
  escalatedTo?: string | null;
  workerId?: string | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  position?: number;
  /** The priority's rank (1 runs first). */
  priority?: number;
  abortRequested?: "cancel" | "requeue" | null;
  /** The lease ends: its token and expiry are cleared, so a late write of the old holder finds nothing. */
  endLease?: true;
}

/** What a transition does to the jobs that depend on this one. */
export type Downstream =
  /** Blocked dependents whose every dependency has now completed become ready. */
  | { action: "unblock" }
  /** Every job waiting on this one, transitively, is skipped with this reason, remembering the root. */
  | { action: "skip"; root: string; reason: string }
  /** Jobs skipped because this one ended wait again; each is re-judged with `planReskip`. */
  | { action: "unskip" }
  /** Jobs that waited on this one now wait on its successor. */
  | { action: "repoint"; to: string };

export interface Plan {
  id: string;
  patch: JobPatch;
  /** The attempt that ended, for the job's history; null when no attempt ended. */
  attempt: Attempt | null;
  downstream: Downstream | null;
  /** An escalation's new job, added in the same transaction. */
  successor: NewJob | null;
}

/** What a caller learns about an ended attempt. */
export interface PlanOutcome {
  status: JobStatus;
  /** Set when a failure scheduled another attempt. */
  retryAt: number | null;
  escalatedTo: string | null;
}

export function outcomeOf(plan: Plan, current: JobStatus): PlanOutcome {
  const status = plan.patch.status ?? current;
  const retried = plan.attempt !== null && (status === "queued" || status === "scheduled") && plan.patch.runAt !== undefined;
  return { status, retryAt: retried ? plan.patch.runAt! : null, escalatedTo: plan.successor?.id ?? null };
}
