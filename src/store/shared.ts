/** What both stores need beyond the pure core: the same constants, orders and checks. */
import { ValidationError } from "../core/errors.js";
import { type Attempt, DOOMED_STATUSES, type Job, type JobStatus } from "../core/job.js";
import { readyStatus } from "../core/transitions.js";
import type { JobRow } from "./rows.js";
import type { NewJob } from "../core/spec.js";

export const ACTIVE_SQL = "('queued', 'scheduled', 'blocked', 'running')";
export const LOST_ERROR = "lease expired: the worker stopped heart-beating (it died, hung or lost the database)";

const RANK = { critical: 1, high: 2, normal: 3, low: 4 } as const;

/** Claim order: priority, then position, then id. */
export function claimOrder(a: Job, b: Job): number {
  return RANK[a.priority] - RANK[b.priority] || a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function assertConcurrency(c: number | null): void {
  if (c !== null && (!Number.isInteger(c) || c < 1)) {
    throw new ValidationError("concurrency", `must be a whole number of 1 or more, or null for no limit; got ${c}`);
  }
}

/** Indexes of the batch, each after the batch jobs it depends on (the batch is known to be acyclic). */
export function topologicalOrder(jobs: readonly NewJob[]): number[] {
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  const done = new Set<number>();
  const order: number[] = [];
  const visit = (i: number) => {
    if (done.has(i)) return;
    done.add(i);
    for (const d of jobs[i]!.dependsOn) {
      const k = index.get(d);
      if (k !== undefined) visit(k);
    }
    order.push(i);
  };
  jobs.forEach((_, i) => visit(i));
  return order;
}

/**
 * A completed job's last attempt is not written as a row of its own (a drain would write twice
 * as much): the job row holds everything about it, and it is added back when attempts are read.
 */
export function withFinalAttempt(attempts: Attempt[], job: JobRow | undefined): Attempt[] {
  if (!job || job.status !== "completed" || job.started_at === null || job.finished_at === null) return attempts;
  return [
    ...attempts,
    {
      jobId: job.id,
      attempt: job.attempts,
      workerId: job.worker_id,
      startedAt: job.started_at,
      finishedAt: job.finished_at,
      outcome: "completed",
      error: null,
      exitCode: job.exit_code ?? null,
    },
  ];
}

export interface DepState {
  status: JobStatus;
  skippedBy: string | null;
}

/**
 * Where a new job that depends on others starts: skipped when one of them has already failed,
 * been cancelled or skipped (naming the root of that cascade), blocked while any has not
 * completed, else queued or scheduled. `known` holds every dependency's state, stored or of the
 * same batch; one missing is an unknown job, and the whole add is refused.
 */
export function placeDependent(p: {
  job: NewJob;
  field: string;
  deps: string[];
  known: Map<string, DepState>;
  now: number;
}): { status: JobStatus; root: string | null; reason: string | null } {
  const states = p.deps.map((id) => {
    const s = p.known.get(id);
    if (!s) throw new ValidationError(`${p.field}.dependsOn`, `unknown job ${id}; a job can only depend on jobs that exist`);
    return { id, ...s };
  });
  const doomed = states.find((d) => DOOMED_STATUSES.includes(d.status));
  if (!doomed) return { status: readyStatus({ runAt: p.job.runAt, now: p.now, depStatuses: states.map((d) => d.status) }), root: null, reason: null };
  const root = doomed.skippedBy ?? doomed.id;
  return { status: "skipped", root, reason: `upstream job ${root} ${doomed.status === "skipped" ? "was skipped" : doomed.status}` };
}

/** A new job's row, by column name, as both stores insert it. */
export function newJobRow(
  job: NewJob,
  f: { status: JobStatus; position: number; deps: string[]; root: string | null; reason: string | null; now: number },
): Record<string, unknown> {
  return {
    id: job.id,
    queue: job.queue,
    kind: job.kind,
    payload: job.payloadJson,
    status: f.status,
    priority: job.priority,
    position: f.position,
    name: job.name,
    labels: JSON.stringify(job.labels),
    depends_on: JSON.stringify(f.deps),
    max_attempts: job.maxAttempts,
    backoff: JSON.stringify(job.backoff),
    timeout_ms: job.timeoutMs,
    unique_key: job.key,
    run_at: job.runAt,
    reason: f.reason,
    skipped_by: f.root,
    escalated_from: job.escalatedFrom,
    target: job.target,
    created_at: f.now,
    finished_at: f.status === "skipped" ? f.now : null,
  };
}

/** Dependencies of the batch that are not in it: their states must come from the store. */
export function storedDependencies(jobs: readonly NewJob[]): string[] {
  const inBatch = new Set(jobs.map((j) => j.id));
  return [...new Set(jobs.flatMap((j) => j.dependsOn).filter((d) => !inBatch.has(d)))];
}

/** The targets a batch names, each once; most batches name none. */
export function targetsOf(jobs: readonly NewJob[]): string[] {
  let out: Set<string> | null = null;
  for (const j of jobs) if (j.target !== null) (out ??= new Set()).add(j.target);
  return out ? [...out] : [];
}

/** True when the job's latest launch on a target belongs to the attempt it is in (or would be in, once claimed). */
export function remoteRunOpen(remote: string | null, attempt: number): boolean {
  if (!remote) return false;
  return (JSON.parse(remote) as { attempt?: number }).attempt === attempt;
}
