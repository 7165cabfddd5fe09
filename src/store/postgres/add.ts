/** Adding jobs: plain ones in one statement, keyed and dependent ones placed by core, in one transaction. */
import type pg from "pg";
import { NotFoundError } from "../../core/errors.js";
import { jobFromNew } from "../../core/job-from-new.js";
import { type DepPlace, placeDependent, storedDependencies, targetsOf, topologicalOrder } from "../../core/lifecycle/index.js";
import { nextPosition } from "../../core/position.js";
import type { NewJob } from "../../core/spec.js";
import { type JobRow, toJob } from "../rows.js";
import { ACTIVE_SQL, newJobRow } from "../shared.js";
import type { AddResult } from "../store.js";
import { type PgContext, type Q, ensureQueues, exec, notify, q, scheduledAt, tx } from "./context.js";
import { noteAdded } from "./upkeep.js";

export async function jobAddMany(cx: PgContext, params: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<AddResult[]> {
  const now = params.now ?? Date.now();
  noteAdded(cx, params.jobs.length);
  if (params.client) {
    // The caller's transaction: the jobs exist only if it commits, and so does the wake-up.
    await cx.ready;
    const c = params.client as pg.PoolClient;
    const results = await addInTransaction(cx, c, params.jobs, now);
    await notify(cx, c);
    return results;
  }
  if (params.jobs.every((j) => j.key === null && j.dependsOn.length === 0 && j.target === null)) return addPlain(cx, params.jobs, now);
  return tx(cx, (c) => addInTransaction(cx, c, params.jobs, now));
}

/**
 * Plain jobs (no key, no dependencies) cannot clash or wait: one INSERT over arrays takes them
 * all. Returns the statement, so it can run inside a transaction or, with the queue rows and
 * the wake-up folded in, as a single statement of its own.
 */
function plainInsert(
  cx: PgContext,
  p: { jobs: NewJob[]; plain: number[]; positions: number[]; now: number; results: AddResult[]; known: Map<string, DepPlace> },
) {
  const cols: unknown[][] = Array.from({ length: 15 }, () => []);
  for (const i of p.plain) {
    const j = p.jobs[i]!;
    const status = j.runAt > p.now ? "scheduled" : "queued";
    if (status === "scheduled") scheduledAt(cx, j.runAt);
    p.known.set(j.id, { status, skippedBy: null });
    p.results[i] = { job: jobFromNew(j, { status, position: p.positions[i]!, now: p.now, dependsOn: [], reason: null }), created: true };
    const v = [j.id, j.queue, j.kind, j.payloadJson, status, j.priority, p.positions[i], j.name, JSON.stringify(j.labels),
      j.maxAttempts, JSON.stringify(j.backoff), j.timeoutMs, j.runAt, j.escalatedFrom, j.target];
    v.forEach((x, k) => cols[k]!.push(x));
  }
  const sql = `INSERT INTO ${cx.t.jobs} (id, queue, kind, payload, status, priority, position, name, labels, max_attempts, backoff, timeout_ms, run_at, escalated_from, target, created_at)
     SELECT *, $16::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::float8[],
       $8::text[], $9::text[], $10::int[], $11::text[], $12::bigint[], $13::bigint[], $14::text[], $15::text[])`;
  return { sql, values: [...cols, p.now] };
}

async function addPlain(cx: PgContext, jobs: NewJob[], now: number): Promise<AddResult[]> {
  const results: AddResult[] = new Array(jobs.length);
  const positions = jobs.map(() => nextPosition(now));
  const ins = plainInsert(cx, { jobs, plain: jobs.map((_, i) => i), positions, now, results, known: new Map() });
  await exec(
    cx,
    `WITH q AS (INSERT INTO ${cx.t.queues} (name, created_at) SELECT DISTINCT unnest($17::text[]), $16::bigint ON CONFLICT (name) DO NOTHING),
     ins AS (${ins.sql})
     SELECT pg_notify($18, '')`,
    [...ins.values, [...new Set(jobs.map((j) => j.queue))], cx.channel],
    "add",
  );
  return results;
}

/** Adds a batch inside a transaction the caller holds (the store's own, a cron tick's, or the caller's). */
export async function addInTransaction(cx: PgContext, c: Q, jobs: NewJob[], now: number): Promise<AddResult[]> {
  await ensureQueues(cx, c, [...new Set(jobs.map((j) => j.queue))], now);
  await checkTargets(cx, c, targetsOf(jobs));
  const positions = jobs.map(() => nextPosition(now));
  const results: AddResult[] = new Array(jobs.length);
  const known = new Map<string, DepPlace>();
  const plain: number[] = [];
  const rest: NewJob[] = [];
  jobs.forEach((j, i) => (j.key === null && j.dependsOn.length === 0 ? plain.push(i) : rest.push(j)));
  if (plain.length > 0) {
    const ins = plainInsert(cx, { jobs, plain, positions, now, results, known });
    await c.query(ins.sql, ins.values);
  }
  if (rest.length > 0) await addPlaced(cx, c, { jobs, rest, positions, now, results, known });
  return results;
}

/** Jobs named by the batch must exist; their rows are held so a removal waits for this add. */
async function checkTargets(cx: PgContext, c: Q, targets: string[]): Promise<void> {
  if (targets.length === 0) return;
  const rows = await q<{ name: string }>(c, `SELECT name FROM ${cx.t.targets} WHERE name = ANY($1::text[]) FOR SHARE`, [targets]);
  const known = new Set(rows.map((r) => r.name));
  const missing = targets.find((t) => !known.has(t));
  if (missing !== undefined) throw new NotFoundError("target", missing);
}

/** Keyed and dependent jobs, one at a time after what they depend on, each placed by core. */
async function addPlaced(
  cx: PgContext,
  c: Q,
  p: { jobs: NewJob[]; rest: NewJob[]; positions: number[]; now: number; results: AddResult[]; known: Map<string, DepPlace> },
): Promise<void> {
  const { jobs, now, known } = p;
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  const stored = storedDependencies(jobs);
  if (stored.length > 0) {
    const rows = await q<{ id: string } & DepPlace>(c, `SELECT id, status, skipped_by AS "skippedBy" FROM ${cx.t.jobs} WHERE id = ANY($1::text[])`, [stored]);
    for (const r of rows) known.set(r.id, { status: r.status, skippedBy: r.skippedBy });
  }
  // A job of the batch deduplicated onto an existing one: dependents follow the existing one.
  const alias = new Map<string, string>();
  for (const k of topologicalOrder(p.rest)) {
    const job = p.rest[k]!;
    const i = index.get(job.id)!;
    const deps = job.dependsOn.map((d) => alias.get(d) ?? d);
    const place = placeDependent({ job, field: jobs.length === 1 ? "job" : `jobs[${i}]`, deps, known, now });
    if (place.status === "scheduled") scheduledAt(cx, job.runAt);
    if (!(await insertJob(cx, c, newJobRow(job, { ...place, position: p.positions[i]!, deps, now })))) {
      const existing = (
        await q<JobRow>(c, `SELECT * FROM ${cx.t.jobs} WHERE queue = $1 AND unique_key = $2 AND status IN ${ACTIVE_SQL}`, [job.queue, job.key])
      )[0]!;
      alias.set(job.id, existing.id);
      known.set(existing.id, { status: existing.status, skippedBy: existing.skipped_by });
      p.results[i] = { job: toJob(existing), created: false };
      continue;
    }
    if (deps.length > 0) {
      await c.query(`INSERT INTO ${cx.t.job_deps} (job_id, depends_on) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [job.id, deps]);
    }
    known.set(job.id, { status: place.status, skippedBy: place.root });
    p.results[i] = { job: jobFromNew(job, { status: place.status, position: p.positions[i]!, now, dependsOn: deps, reason: place.reason }), created: true };
  }
}

/** Inserts one job; false when its unique key is already held by an active job. */
export async function insertJob(cx: PgContext, c: Q, v: Record<string, unknown>): Promise<boolean> {
  const cols = Object.keys(v);
  const sql = `INSERT INTO ${cx.t.jobs} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})
    ${v.unique_key === null ? "" : `ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN ${ACTIVE_SQL} DO NOTHING`}`;
  return ((await c.query(sql, Object.values(v))).rowCount ?? 0) > 0;
}
