/** Reading jobs: one, a page of a listing, attempts, logs, the escalation chain, the timeline. */
import { assertStatuses } from "../../core/checks.js";
import type { Attempt, Job } from "../../core/job.js";
import { type AttemptRow, type JobRow, toAttempt, toJob } from "../rows.js";
import { escalationChain, withFinalAttempt } from "../shared.js";
import type { JobListParams, StoredLogLine, TimelineBucket } from "../store.js";
import type { SqliteContext } from "./context.js";

export function jobGet(cx: SqliteContext, params: { id: string }): Job | null {
  const r = cx.row(params.id);
  return r ? toJob(r) : null;
}

export function jobList(cx: SqliteContext, params: JobListParams): Job[] {
  const where: string[] = [];
  const args: Record<string, unknown> = {};
  if (params.queue !== undefined) {
    where.push("queue = @queue");
    args.queue = params.queue;
  }
  if (params.kind !== undefined) {
    where.push("kind = @kind");
    args.kind = params.kind;
  }
  if (params.status?.length) {
    assertStatuses(params.status);
    // Written out (the names are checked above), so the planner can answer from a phase's partial
    // index: the running jobs among a million are found without reading the million.
    where.push(`status IN (${params.status.map((x) => `'${x}'`).join(", ")})`);
  }
  if (params.target !== undefined) {
    where.push("target = @target");
    args.target = params.target;
  }
  if (params.search) {
    // The name and a shell job's command only: a payload's other fields (its environment) stay private.
    where.push(
      "(name LIKE @search ESCAPE '\\' OR json_extract(payload, '$.shell') LIKE @search ESCAPE '\\' OR json_extract(payload, '$.command') LIKE @search ESCAPE '\\')",
    );
    args.search = `%${params.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  if (params.finishedSince !== undefined) {
    where.push("finished_at >= @finishedSince");
    args.finishedSince = params.finishedSince;
  }
  const order = params.order ?? "queue";
  if (params.after !== undefined) {
    args.after = params.after;
    if (order === "recent") where.push("id < @after");
    else if (order === "added") where.push("id > @after");
    else if (order === "finished") {
      const c = cx.mustRow(params.after);
      where.push("(finished_at, id) > (@cfin, @after)");
      args.cfin = c.finished_at ?? 0;
    } else {
      const c = cx.mustRow(params.after);
      where.push("(priority, position, id) > (@cp, @cpos, @cid)");
      Object.assign(args, { cp: c.priority, cpos: c.position, cid: c.id });
    }
  }
  args.limit = Math.min(Math.max(params.limit ?? 100, 1), 10_000);
  const orderBy = { queue: "priority, position, id", recent: "id DESC", added: "id", finished: "finished_at, id" }[order];
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${orderBy} LIMIT @limit`;
  return (cx.db.prepare(sql).all(args) as JobRow[]).map(toJob);
}

export function jobTimeline(cx: SqliteContext, params: { since: number; bucketMs: number; queue?: string }): TimelineBucket[] {
  const rows = cx.db
    .prepare(
      `SELECT CAST(finished_at / @b AS INTEGER) * @b AS at, sum(status = 'completed') AS completed, sum(status = 'failed') AS failed,
         avg(CASE WHEN status = 'completed' THEN finished_at - started_at END) AS meanMs
       FROM jobs WHERE finished_at >= @since AND status IN ('completed', 'failed') ${params.queue !== undefined ? "AND queue = @queue" : ""}
       GROUP BY 1 ORDER BY 1`,
    )
    .all({ b: Math.max(1, Math.trunc(params.bucketMs)), since: params.since, ...(params.queue !== undefined ? { queue: params.queue } : {}) }) as TimelineBucket[];
  return rows.map((r) => ({ at: r.at, completed: r.completed, failed: r.failed, meanMs: r.meanMs === null ? null : Math.round(r.meanMs) }));
}

export function jobAttempts(cx: SqliteContext, params: { id: string }): Attempt[] {
  const rows = (cx.stmt("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY seq").all(params.id) as AttemptRow[]).map(toAttempt);
  return withFinalAttempt(rows, cx.row(params.id));
}

export function jobLogs(cx: SqliteContext, params: { id: string; afterSeq?: number; limit?: number }): StoredLogLine[] {
  const rows = cx.stmt(
    "SELECT seq, job_id, attempt, at, line FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  ).all(params.id, params.afterSeq ?? 0, params.limit ?? 1000) as {
    seq: number;
    job_id: string;
    attempt: number;
    at: number;
    line: string;
  }[];
  return rows.map((r) => ({ seq: r.seq, jobId: r.job_id, attempt: r.attempt, at: r.at, line: r.line }));
}

export async function jobChain(cx: SqliteContext, params: { id: string }): Promise<Job[]> {
  return (await escalationChain(cx.mustRow(params.id), (id) => cx.row(id))).map(toJob);
}
