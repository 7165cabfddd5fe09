/** What both stores need beyond the pure core: the same constants, orders and row shapes. */
import type { Attempt, Job, JobStatus } from "../core/job.js";
import type { NewJob } from "../core/spec.js";
import type { JobRow } from "./rows.js";

export const ACTIVE_SQL = "('queued', 'scheduled', 'blocked', 'running')";

const RANK = { critical: 1, high: 2, normal: 3, low: 4 } as const;

/** Claim order: priority, then position, then id. */
export function claimOrder(a: Job, b: Job): number {
  return RANK[a.priority] - RANK[b.priority] || a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
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
      attempt: job.attempt,
      workerId: job.worker_id,
      startedAt: job.started_at,
      finishedAt: job.finished_at,
      outcome: "completed",
      error: null,
      exitCode: job.exit_code ?? null,
    },
  ];
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

/** An escalation chain, first to last: back along `escalated_from`, then forward along `escalated_to`; a loop in the links ends the walk. */
export async function escalationChain(start: JobRow, get: (id: string) => JobRow | undefined | Promise<JobRow | undefined>): Promise<JobRow[]> {
  let first = start;
  const seen = new Set([first.id]);
  while (first.escalated_from && !seen.has(first.escalated_from)) {
    const prev = await get(first.escalated_from);
    if (!prev) break;
    seen.add(prev.id);
    first = prev;
  }
  const chain = [first];
  const ids = new Set([first.id]);
  for (let cur = first; cur.escalated_to && !ids.has(cur.escalated_to); ) {
    const next = await get(cur.escalated_to);
    if (!next) break;
    chain.push(next);
    ids.add(next.id);
    cur = next;
  }
  return chain;
}
