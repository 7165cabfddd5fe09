import type { Job, JobStatus } from "./job.js";
import { priorityFromRank } from "./priority.js";
import type { NewJob } from "./spec.js";

/** The Job a store has just inserted, built from what it was given rather than read back. */
export function jobFromNew(
  n: NewJob,
  fields: { status: JobStatus; position: number; now: number; dependsOn: string[]; reason: string | null; payload?: unknown },
): Job {
  return {
    id: n.id,
    queue: n.queue,
    kind: n.kind,
    payload: fields.payload !== undefined ? fields.payload : JSON.parse(n.payloadJson),
    status: fields.status,
    priority: priorityFromRank(n.priority),
    position: fields.position,
    name: n.name,
    labels: n.labels,
    dependsOn: fields.dependsOn,
    maxAttempts: n.maxAttempts,
    attempts: 0,
    attempt: 0,
    backoff: n.backoff,
    timeoutMs: n.timeoutMs,
    key: n.key,
    runAt: n.runAt,
    result: null,
    error: null,
    reason: fields.reason,
    progress: null,
    exitCode: null,
    target: n.target,
    remote: null,
    escalatedFrom: n.escalatedFrom,
    escalatedTo: null,
    workerId: null,
    leaseExpiresAt: null,
    createdAt: fields.now,
    startedAt: null,
    finishedAt: fields.status === "skipped" ? fields.now : null,
  };
}
