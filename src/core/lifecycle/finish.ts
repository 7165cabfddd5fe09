/** How an attempt ends: completed, cancelled, put back, retried, escalated or failed for good. */
import type { Attempt, EscalationRule } from "../job.js";
import { priorityRank } from "../priority.js";
import { type NewJob, encodePayload, newJobId } from "../spec.js";
import { decideFailure, matchEscalation } from "./decide.js";
import type { Plan, StoredJob } from "./plan.js";

/** What a worker asks for when an attempt ends. */
export type Finish =
  | { id: string; token: number; outcome: "completed"; result?: unknown; exitCode?: number | null }
  | { id: string; token: number; outcome: "failed"; error: string; retryable?: boolean; exitCode?: number | null }
  | { id: string; token: number; outcome: "cancelled"; error?: string }
  | { id: string; token: number; outcome: "released" };

export const LOST_ERROR = "lease expired: the worker stopped heart-beating (it died, hung or lost the database)";
const CANCELLED_REASON = "cancelled by request";

/** The ended attempt as its history records it. */
function endedAttempt(job: StoredJob, outcome: Attempt["outcome"], error: string | null, now: number): Attempt {
  return {
    jobId: job.id,
    attempt: job.attempt,
    workerId: job.workerId,
    startedAt: job.startedAt ?? now,
    finishedAt: now,
    outcome,
    error,
    exitCode: job.exitCode,
  };
}

export function skipReason(root: string, rootStatus: "failed" | "cancelled" | "skipped"): string {
  return `upstream job ${root} ${rootStatus === "skipped" ? "was skipped" : rootStatus}`;
}

/** The last attempt of a completed job is kept on the job itself (a drain writes half as much). */
export function planComplete(job: StoredJob, result: unknown, now: number): Plan {
  return {
    id: job.id,
    patch: {
      status: "completed",
      resultJson: result === undefined ? null : encodePayload(result, "result"),
      error: null,
      reason: null,
      finishedAt: now,
      abortRequested: null,
      endLease: true,
    },
    attempt: null,
    downstream: { action: "unblock" },
    successor: null,
  };
}

/** Ends the job failed or cancelled; everything waiting on it is skipped. */
function planEnd(
  job: StoredJob,
  p: { status: "failed" | "cancelled"; error: string; reason: string | null; outcome: Attempt["outcome"]; now: number },
): Plan {
  return {
    id: job.id,
    patch: { status: p.status, error: p.error, reason: p.reason, finishedAt: p.now, abortRequested: null, endLease: true },
    attempt: endedAttempt(job, p.outcome, p.error, p.now),
    downstream: { action: "skip", root: job.id, reason: skipReason(job.id, p.status) },
    successor: null,
  };
}

/**
 * Back to the queue without counting the attempt: graceful shutdown, a stopped queue, or the
 * first time a job's worker dies under it (a second death counts, so a job that kills its worker
 * cannot loop forever). A run still open on a target keeps its attempt number: the lane that
 * claims the job next adopts that run, and it is the same attempt.
 */
function planRelease(job: StoredJob, p: { outcome: "released" | "lost"; error: string | null; now: number }): Plan {
  const adopting = remoteRunOpen(job);
  return {
    id: job.id,
    patch: {
      status: "queued",
      attempts: Math.max(0, job.attempts - 1),
      ...(adopting ? { attempt: Math.max(0, job.attempt - 1) } : {}),
      workerId: null,
      startedAt: null,
      error: p.error ?? job.error,
      abortRequested: null,
      endLease: true,
    },
    attempt: endedAttempt(job, p.outcome, p.error, p.now),
    downstream: null,
    successor: null,
  };
}

/** A failure: another attempt after the backoff, an escalation to the next queue or kind, or the end. */
function planFailure(
  job: StoredJob,
  p: { error: string; retryable: boolean; immediate: boolean; outcome: Attempt["outcome"]; rules: readonly EscalationRule[]; now: number },
): Plan {
  const decision = decideFailure({
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    rule: matchEscalation(p.rules, job),
    retryable: p.retryable,
    immediate: p.immediate,
    now: p.now,
  });
  if (decision.action === "fail") return planEnd(job, { status: "failed", error: p.error, reason: null, outcome: p.outcome, now: p.now });
  if (decision.action === "retry") {
    return {
      id: job.id,
      patch: { status: decision.status, runAt: decision.runAt, error: p.error, abortRequested: null, endLease: true },
      attempt: endedAttempt(job, p.outcome, p.error, p.now),
      downstream: null,
      successor: null,
    };
  }
  const successor = successorOf(job, decision.rule, p.now);
  const n = job.attempts;
  return {
    id: job.id,
    patch: {
      status: "failed",
      error: p.error,
      reason: `escalated to ${successor.id} (${successor.kind} on ${successor.queue}) after ${n} failed attempt${n === 1 ? "" : "s"}`,
      escalatedTo: successor.id,
      finishedAt: p.now,
      abortRequested: null,
      endLease: true,
    },
    attempt: endedAttempt(job, p.outcome, p.error, p.now),
    // Jobs that waited on the failing job wait on its successor instead of being skipped.
    downstream: { action: "repoint", to: successor.id },
    successor,
  };
}

/** The same payload handed to the rule's queue or kind, as a new job that links back. */
function successorOf(job: StoredJob, rule: EscalationRule, now: number): NewJob {
  const kind = rule.toKind ?? job.kind;
  return {
    id: newJobId(now),
    queue: rule.toQueue ?? job.queue,
    kind,
    payloadJson: JSON.stringify(job.payload),
    priority: priorityRank(job.priority),
    runAt: now,
    dependsOn: [],
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    timeoutMs: job.timeoutMs,
    key: job.key,
    name: job.name,
    labels: job.labels,
    escalatedFrom: job.id,
    // Targets run shell jobs: a successor of another kind runs where its handler is.
    target: kind === "shell" ? job.target : null,
  };
}

/**
 * The end a worker asked for, unless a person asked first: a cancel requested while the job ran
 * wins over any outcome but completion, and a stopped queue puts the job back.
 */
export function planFinish(job: StoredJob, f: Finish, p: { rules: readonly EscalationRule[]; now: number }): Plan {
  if (f.outcome === "completed") return planComplete(job, f.result, p.now);
  if (f.outcome === "cancelled" || job.abortRequested === "cancel") {
    const error = f.outcome === "failed" || f.outcome === "cancelled" ? (f.error ?? "cancelled") : "cancelled";
    return planEnd(job, { status: "cancelled", error, reason: CANCELLED_REASON, outcome: "cancelled", now: p.now });
  }
  if (f.outcome === "released" || job.abortRequested === "requeue") return planRelease(job, { outcome: "released", error: null, now: p.now });
  return planFailure(job, { error: f.error, retryable: f.retryable ?? true, immediate: false, outcome: "failed", rules: p.rules, now: p.now });
}

/**
 * A lease that expired: its worker died, hung or lost the database. The first loss costs nothing
 * and a run still open on a target costs nothing (its watcher died, not the job); a second loss
 * counts as a failed attempt and goes back at once, without backoff.
 */
export function planReap(job: StoredJob, p: { lostBefore: boolean; rules: readonly EscalationRule[]; now: number }): Plan {
  if (job.abortRequested === "cancel") {
    return planEnd(job, { status: "cancelled", error: "cancelled", reason: CANCELLED_REASON, outcome: "lost", now: p.now });
  }
  if (job.abortRequested === "requeue") return planRelease(job, { outcome: "released", error: null, now: p.now });
  if (remoteRunOpen(job) || !p.lostBefore) return planRelease(job, { outcome: "lost", error: LOST_ERROR, now: p.now });
  return planFailure(job, { error: LOST_ERROR, retryable: true, immediate: true, outcome: "lost", rules: p.rules, now: p.now });
}

/** Whether planReap will read `lostBefore` for this job: a store need not look the history up otherwise. */
export function reapReadsLossHistory(job: StoredJob): boolean {
  return job.abortRequested === null && !remoteRunOpen(job);
}

/** True when the job's latest launch on a target belongs to the attempt it is in. */
export function remoteRunOpen(job: Pick<StoredJob, "remote" | "attempt">): boolean {
  return job.remote !== null && job.remote.attempt === job.attempt;
}
