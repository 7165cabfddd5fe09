/** Reading jobs: one, a listing, their attempts, a timeline of ends, log lines, an escalation chain. */
import { assertStatuses } from "../../core/checks.js";
import type { Attempt, Job } from "../../core/job.js";
import { type AttemptRow, type JobRow, toAttempt, toJob } from "../rows.js";
import { escalationChain, withFinalAttempt } from "../shared.js";
import type { JobListParams, StoredLogLine, TimelineBucket } from "../store.js";
import { type PgContext, type Q, exec, mustRow, q, read, row } from "./context.js";

export async function jobGet(cx: PgContext, params: { id: string }): Promise<Job | null> {
  const r = await read(cx, (c) => row(cx, c, params.id));
  return r ? toJob(r) : null;
}

/** A WHERE clause built up with its arguments numbered as they are added. */
class Where {
  readonly terms: string[] = [];
  readonly args: unknown[] = [];
  arg(v: unknown): string {
    this.args.push(v);
    return `$${this.args.length}`;
  }
  toString(): string {
    return this.terms.length ? `WHERE ${this.terms.join(" AND ")}` : "";
  }
}

function listFilters(params: JobListParams): Where {
  const w = new Where();
  if (params.queue !== undefined) w.terms.push(`queue = ${w.arg(params.queue)}`);
  if (params.kind !== undefined) w.terms.push(`kind = ${w.arg(params.kind)}`);
  if (params.status?.length) {
    assertStatuses(params.status);
    // Written out (the names are checked above), so the planner can prove a phase's partial index applies.
    w.terms.push(`status IN (${params.status.map((x) => `'${x}'`).join(", ")})`);
  }
  if (params.target !== undefined) w.terms.push(`target = ${w.arg(params.target)}`);
  if (params.search) {
    const pattern = w.arg(`%${params.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    // The name and a shell job's command only: a payload's other fields (its environment) stay private.
    w.terms.push(`(name ILIKE ${pattern} OR (payload::jsonb)->>'shell' ILIKE ${pattern} OR ((payload::jsonb)->'command')::text ILIKE ${pattern})`);
  }
  if (params.finishedSince !== undefined) w.terms.push(`finished_at >= ${w.arg(params.finishedSince)}`);
  return w;
}

/** Only jobs after the cursor job, in the listing's order. */
async function afterCursor(cx: PgContext, c: Q, w: Where, order: NonNullable<JobListParams["order"]>, after: string): Promise<void> {
  if (order === "recent") w.terms.push(`id < ${w.arg(after)}`);
  else if (order === "added") w.terms.push(`id > ${w.arg(after)}`);
  else if (order === "finished") {
    const cur = await mustRow(cx, c, after);
    w.terms.push(`(finished_at, id) > (${w.arg(cur.finished_at ?? 0)}::bigint, ${w.arg(cur.id)})`);
  } else {
    const cur = await mustRow(cx, c, after);
    w.terms.push(`(priority, position, id) > (${w.arg(cur.priority)}::smallint, ${w.arg(cur.position)}::float8, ${w.arg(cur.id)})`);
  }
}

export async function jobList(cx: PgContext, params: JobListParams): Promise<Job[]> {
  const w = listFilters(params);
  const order = params.order ?? "queue";
  return read(cx, async (c) => {
    if (params.after !== undefined) await afterCursor(cx, c, w, order, params.after);
    const limit = Math.min(Math.max(params.limit ?? 100, 1), 10_000);
    const orderBy = { queue: "priority, position, id", recent: "id DESC", added: "id", finished: "finished_at, id" }[order];
    const rows = await q<JobRow>(c, `SELECT * FROM ${cx.t.jobs} ${w} ORDER BY ${orderBy} LIMIT ${w.arg(limit)}`, w.args);
    return rows.map(toJob);
  });
}

export async function jobTimeline(cx: PgContext, params: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]> {
  const b = Math.max(1, Math.trunc(params.bucketMs));
  const rows = await exec<{ at: string; completed: number; failed: number; mean: number | null }>(
    cx,
    `SELECT (finished_at / $1) * $1 AS at, count(*) FILTER (WHERE status = 'completed')::int AS completed,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       avg(finished_at - started_at) FILTER (WHERE status = 'completed')::float8 AS mean
     FROM ${cx.t.jobs} WHERE finished_at >= $2 AND status IN ('completed', 'failed') AND ($3::text IS NULL OR queue = $3)
     GROUP BY 1 ORDER BY 1`,
    [b, params.since, params.queue ?? null],
  );
  return rows.map((r) => ({ at: Number(r.at), completed: r.completed, failed: r.failed, meanMs: r.mean === null ? null : Math.round(r.mean) }));
}

export async function jobAttempts(cx: PgContext, params: { id: string }): Promise<Attempt[]> {
  return read(cx, async (c) => {
    const rows = (await q<AttemptRow>(c, `SELECT * FROM ${cx.t.job_attempts} WHERE job_id = $1 ORDER BY seq`, [params.id])).map(toAttempt);
    return withFinalAttempt(rows, await row(cx, c, params.id));
  });
}

export async function jobLogs(cx: PgContext, params: { id: string; afterSeq?: number; limit?: number }): Promise<StoredLogLine[]> {
  return read(cx, async (c) =>
    (
      await q<{ seq: number; job_id: string; attempt: number; at: number; line: string }>(
        c,
        `SELECT seq, job_id, attempt, at, line FROM ${cx.t.job_logs} WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [params.id, params.afterSeq ?? 0, params.limit ?? 1000],
      )
    ).map((r) => ({ seq: Number(r.seq), jobId: r.job_id, attempt: r.attempt, at: r.at, line: r.line })),
  );
}

export async function jobChain(cx: PgContext, params: { id: string }): Promise<Job[]> {
  return read(cx, async (c) => (await escalationChain(await mustRow(cx, c, params.id), (id) => row(cx, c, id))).map(toJob));
}
