/** Adding jobs: plain ones in one positional insert each, keyed and dependent ones placed by core. */
import { NotFoundError, ValidationError } from "../../core/errors.js";
import type { JobStatus } from "../../core/job.js";
import { jobFromNew } from "../../core/job-from-new.js";
import { placeDependent, storedDependencies, targetsOf, topologicalOrder } from "../../core/lifecycle/add.js";
import { nextPosition } from "../../core/position.js";
import type { NewJob } from "../../core/spec.js";
import { type JobRow, toJob } from "../rows.js";
import { ACTIVE_SQL, newJobRow } from "../shared.js";
import type { AddResult } from "../store.js";
import type { SqliteContext } from "./context.js";

const INSERT_COLUMNS = [
  "id", "queue", "kind", "payload", "status", "priority", "position", "name", "labels", "depends_on",
  "max_attempts", "backoff", "timeout_ms", "unique_key", "run_at", "reason", "skipped_by", "escalated_from",
  "target", "created_at", "finished_at",
];
const INSERT_SQL = `INSERT INTO jobs (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map((c) => `@${c}`).join(", ")})`;
const INSERT_POSITIONAL_SQL = `INSERT INTO jobs (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`;
const INSERT_KEYED_SQL = `${INSERT_SQL}
  ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN ${ACTIVE_SQL} DO NOTHING`;

export function jobAddMany(cx: SqliteContext, params: { jobs: NewJob[]; now?: number; client?: unknown }): AddResult[] {
  if (params.client !== undefined) {
    throw new ValidationError("client", "adding inside your own transaction needs the PostgreSQL store; with SQLite, leave client out");
  }
  const now = params.now ?? Date.now();
  return cx.write(() => addInTransaction(cx, params.jobs, now));
}

export function addInTransaction(cx: SqliteContext, jobs: NewJob[], now: number): AddResult[] {
  for (const q of new Set(jobs.map((j) => j.queue))) cx.ensureQueue(q, now);
  for (const t of targetsOf(jobs)) {
    if (!cx.targetExists(t)) throw new NotFoundError("target", t);
  }
  // Positions in input order, so a batch keeps its own FIFO order.
  const positions = jobs.map(() => nextPosition(now));
  const results: AddResult[] = new Array(jobs.length);
  const statusOf = new Map<string, { status: JobStatus; skippedBy: string | null }>();
  // Plain jobs (no key, no dependencies) cannot clash or wait: a positional insert each, nothing read back.
  const plain: number[] = [];
  const rest: NewJob[] = [];
  jobs.forEach((j, i) => (j.key === null && j.dependsOn.length === 0 ? plain.push(i) : rest.push(j)));
  if (plain.length > 0) {
    const rows = plain.map((i) => {
      const j = jobs[i]!;
      const status = j.runAt > now ? "scheduled" : "queued";
      statusOf.set(j.id, { status, skippedBy: null });
      results[i] = { job: jobFromNew(j, { status, position: positions[i]!, now, dependsOn: [], reason: null }), created: true };
      return [j.id, j.queue, j.kind, j.payloadJson, status, j.priority, positions[i], j.name, JSON.stringify(j.labels), "[]",
        j.maxAttempts, JSON.stringify(j.backoff), j.timeoutMs, null, j.runAt, null, null, j.escalatedFrom, j.target, now, null];
    });
    const ins = cx.stmt(INSERT_POSITIONAL_SQL);
    for (const r of rows) ins.run(r);
  }
  if (rest.length === 0) return results;
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  const stored = storedDependencies(jobs);
  if (stored.length > 0) {
    const rows = cx.stmt("SELECT id, status, skipped_by FROM jobs WHERE id IN (SELECT value FROM json_each(?))").all(
      JSON.stringify(stored),
    ) as { id: string; status: JobStatus; skipped_by: string | null }[];
    for (const r of rows) statusOf.set(r.id, { status: r.status, skippedBy: r.skipped_by });
  }
  // A job of the batch deduplicated onto an existing one: dependents follow the existing one.
  const alias = new Map<string, string>();
  for (const k of topologicalOrder(rest)) {
    const job = rest[k]!;
    const i = index.get(job.id)!;
    const deps = job.dependsOn.map((d) => alias.get(d) ?? d);
    const place = placeDependent({ job, field: jobs.length === 1 ? "job" : `jobs[${i}]`, deps, known: statusOf, now });
    const row = newJobRow(job, { ...place, position: positions[i]!, deps, now });
    if (!insertJob(cx, row)) {
      const existing = cx.stmt(
        `SELECT * FROM jobs WHERE queue = ? AND unique_key = ? AND status IN ${ACTIVE_SQL}`,
      ).get(job.queue, job.key) as JobRow;
      alias.set(job.id, existing.id);
      statusOf.set(existing.id, { status: existing.status, skippedBy: existing.skipped_by });
      results[i] = { job: toJob(existing), created: false };
      continue;
    }
    for (const d of deps) cx.stmt("INSERT OR IGNORE INTO job_deps (job_id, depends_on) VALUES (?, ?)").run(job.id, d);
    statusOf.set(job.id, { status: place.status, skippedBy: place.root });
    results[i] = { job: jobFromNew(job, { status: place.status, position: positions[i]!, now, dependsOn: deps, reason: place.reason }), created: true };
  }
  return results;
}

/** Inserts a job row; false when its unique key is already held by an active job. */
export function insertJob(cx: SqliteContext, v: Record<string, unknown>): boolean {
  return cx.stmt(v.unique_key === null ? INSERT_SQL : INSERT_KEYED_SQL).run(v).changes > 0;
}
