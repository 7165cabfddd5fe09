/** What both stores need beyond the pure core: the same constants, orders and checks. */
import { ValidationError } from "../core/errors.js";
import type { Attempt, Job } from "../core/job.js";
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
    },
  ];
}
