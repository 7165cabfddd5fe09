import type { StoredJob } from "../core/lifecycle/plan.js";
import type { Attempt, EscalationRule, Job, JobStatus, QueueInfo, QueueState } from "../core/job.js";
import type { CronSchedule } from "../core/cron.js";
import { priorityFromRank } from "../core/priority.js";
import type { Target } from "../core/target.js";

export interface JobRow {
  id: string;
  queue: string;
  kind: string;
  payload: string;
  status: JobStatus;
  priority: number;
  position: number;
  name: string | null;
  labels: string;
  depends_on: string;
  max_attempts: number;
  attempts: number;
  attempt: number;
  backoff: string;
  timeout_ms: number | null;
  unique_key: string | null;
  run_at: number;
  result: string | null;
  error: string | null;
  reason: string | null;
  progress: string | null;
  exit_code: number | null;
  target: string | null;
  remote: string | null;
  escalated_from: string | null;
  escalated_to: string | null;
  skipped_by: string | null;
  worker_id: string | null;
  lease_token: number | null;
  lease_expires_at: number | null;
  abort_requested: "cancel" | "requeue" | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface QueueRow {
  name: string;
  state: QueueState;
  concurrency: number | null;
  created_at: number;
}

const parseOrNull = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    kind: r.kind,
    payload: JSON.parse(r.payload),
    status: r.status,
    priority: priorityFromRank(r.priority),
    position: r.position,
    name: r.name,
    labels: JSON.parse(r.labels),
    dependsOn: JSON.parse(r.depends_on),
    maxAttempts: r.max_attempts,
    attempts: r.attempts,
    attempt: r.attempt,
    backoff: JSON.parse(r.backoff),
    timeoutMs: r.timeout_ms,
    key: r.unique_key,
    runAt: r.run_at,
    result: parseOrNull(r.result),
    error: r.error,
    reason: r.reason,
    progress: parseOrNull(r.progress) as Job["progress"],
    exitCode: r.exit_code ?? null,
    target: r.target ?? null,
    remote: r.remote ? JSON.parse(r.remote) : null,
    escalatedFrom: r.escalated_from,
    escalatedTo: r.escalated_to,
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** The job with what only the lifecycle reads: a pending abort, the root of its skip. */
export function toStoredJob(r: JobRow): StoredJob {
  return { ...toJob(r), abortRequested: r.abort_requested, skippedBy: r.skipped_by };
}

export interface TargetRow {
  name: string;
  host: string;
  port: number | null;
  identity: string | null;
  dir: string;
  sync: string | null;
  excludes: string;
  concurrency: number;
  created_at: number;
  reachable: number | boolean | null;
  message: string | null;
  checked_at: number | null;
}

export function toTarget(r: TargetRow): Target {
  return {
    name: r.name,
    host: r.host,
    port: r.port,
    identity: r.identity,
    dir: r.dir,
    sync: r.sync,
    excludes: JSON.parse(r.excludes),
    concurrency: r.concurrency,
    createdAt: Number(r.created_at),
    reachable: r.reachable === null ? null : Boolean(r.reachable),
    message: r.message,
    checkedAt: r.checked_at === null ? null : Number(r.checked_at),
  };
}

export function toQueue(r: QueueRow): QueueInfo {
  return { name: r.name, state: r.state, concurrency: r.concurrency, createdAt: r.created_at };
}

export interface AttemptRow {
  job_id: string;
  attempt: number;
  worker_id: string | null;
  started_at: number;
  finished_at: number;
  outcome: Attempt["outcome"];
  error: string | null;
  exit_code: number | null;
}

export function toAttempt(r: AttemptRow): Attempt {
  return {
    jobId: r.job_id,
    attempt: r.attempt,
    workerId: r.worker_id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    error: r.error,
    exitCode: r.exit_code ?? null,
  };
}

export interface RuleRow {
  queue: string;
  kind: string;
  after: number;
  to_queue: string | null;
  to_kind: string | null;
}

/** '' stands for "any" in the table so the primary key can hold it. */
export function toRule(r: RuleRow): EscalationRule {
  return {
    queue: r.queue || null,
    kind: r.kind || null,
    after: r.after,
    toQueue: r.to_queue,
    toKind: r.to_kind,
  };
}

export interface CronRow {
  name: string;
  pattern: string;
  timezone: string;
  queue: string;
  kind: string;
  payload: string;
  priority: number;
  next_at: number | null;
  created_at: number;
}

export function toCron(r: CronRow): CronSchedule {
  return {
    name: r.name,
    pattern: r.pattern,
    timezone: r.timezone,
    queue: r.queue,
    kind: r.kind,
    payload: JSON.parse(r.payload),
    priority: priorityFromRank(r.priority),
    nextAt: r.next_at,
    createdAt: r.created_at,
  };
}

/** Column order of JOB_COLUMNS, for rows read as arrays on the claim path (no object per row). */
export const JOB_COLUMNS =
  "id, queue, kind, payload, status, priority, position, name, labels, depends_on, max_attempts, attempts, backoff, timeout_ms, unique_key, run_at, result, error, reason, progress, escalated_from, escalated_to, worker_id, lease_expires_at, created_at, started_at, finished_at, exit_code, target, remote, attempt";

export function toJobRaw(a: unknown[]): Job {
  return {
    id: a[0] as string,
    queue: a[1] as string,
    kind: a[2] as string,
    payload: JSON.parse(a[3] as string),
    status: a[4] as JobStatus,
    priority: priorityFromRank(a[5] as number),
    position: a[6] as number,
    name: a[7] as string | null,
    labels: JSON.parse(a[8] as string),
    dependsOn: JSON.parse(a[9] as string),
    maxAttempts: a[10] as number,
    attempts: a[11] as number,
    backoff: JSON.parse(a[12] as string),
    timeoutMs: a[13] as number | null,
    key: a[14] as string | null,
    runAt: a[15] as number,
    result: parseOrNull(a[16] as string | null),
    error: a[17] as string | null,
    reason: a[18] as string | null,
    progress: parseOrNull(a[19] as string | null) as Job["progress"],
    escalatedFrom: a[20] as string | null,
    escalatedTo: a[21] as string | null,
    workerId: a[22] as string | null,
    leaseExpiresAt: a[23] as number | null,
    createdAt: a[24] as number,
    startedAt: a[25] as number | null,
    finishedAt: a[26] as number | null,
    exitCode: (a[27] as number | null) ?? null,
    target: (a[28] as string | null) ?? null,
    remote: a[29] ? JSON.parse(a[29] as string) : null,
    attempt: a[30] as number,
  };
}
