/**
 * Claiming, SQLite's way: one writer at a time, so a claim is a few statements inside one
 * IMMEDIATE transaction, and every limit (queue, target) is counted inside the statement that
 * takes the jobs, so it holds across every process sharing the file.
 */
import type { Job } from "../../core/job.js";
import { JOB_COLUMNS, toJobRaw } from "../rows.js";
import { claimOrder } from "../shared.js";
import type { ClaimParams, ClaimResult, ClaimedJob } from "../store.js";
import type { SqliteContext } from "./context.js";

/** The first waiting job of each named queue (a JSON array), claimed in one statement. */
const claimOneEach = [false, true].map((kinds) => claimOneEachText(kinds));
function claimOneEachSql(kinds: boolean): string {
  return claimOneEach[kinds ? 1 : 0]!;
}
function claimOneEachText(kinds: boolean): string {
  return `UPDATE jobs SET status = 'running', attempts = attempts + 1, attempt = attempt + 1, lease_token = @token,
      lease_expires_at = @expires, worker_id = @worker, started_at = @now, abort_requested = NULL, exit_code = NULL
    WHERE id IN (
      SELECT (SELECT id FROM jobs WHERE queue = c.value AND status = 'queued' AND target IS NULL
                ${kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""}
              ORDER BY priority, position, id LIMIT 1)
      FROM json_each(@names) c)
    RETURNING ${JOB_COLUMNS}`;
}

/**
 * The looks that pick which queues a claim visits: running ones holding a job this claim could
 * take (its kinds, its target or none). Those with a limit must also have a slot free; they come
 * in name order after the last one served (`limitedAfter`), then from the start (`limitedFrom`).
 */
const queueLooks = new Map<string, { unlimited: string; limitedAfter: string; limitedFrom: string }>();
function queueLook(p: { target: string | null; kinds: boolean; queues: boolean }) {
  const key = `${p.target === null ? 0 : 1}${p.kinds ? 1 : 0}${p.queues ? 1 : 0}`;
  let look = queueLooks.get(key);
  if (!look) {
    const waiting = `EXISTS (SELECT 1 FROM jobs WHERE queue = q.name AND status = 'queued'
      AND ${p.target === null ? "target IS NULL" : "target = @target"} ${p.kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""})`;
    const chosen = p.queues ? "AND q.name IN (SELECT value FROM json_each(@queues))" : "";
    const limited = (range: string) => `SELECT q.name FROM queues q
      WHERE q.state = 'running' AND q.concurrency IS NOT NULL AND ${range} ${chosen} AND ${waiting}
        AND (SELECT count(*) FROM jobs WHERE queue = q.name AND status = 'running') < q.concurrency
      ORDER BY q.name LIMIT @k`;
    look = {
      unlimited: `SELECT q.name FROM queues q WHERE q.state = 'running' AND q.concurrency IS NULL ${chosen} AND ${waiting} ORDER BY q.name`,
      limitedAfter: limited("q.name > @after"),
      limitedFrom: limited("q.name <= @after"),
    };
    queueLooks.set(key, look);
  }
  return look;
}

export function jobClaim(cx: SqliteContext, params: ClaimParams): ClaimResult {
  const now = params.now ?? Date.now();
  if (params.limit + (params.prefetch ?? 0) <= 0) return { jobs: [], nextRunAt: null };
  // A target's lane wakes on every change; most of the time its target has nothing waiting, and a read says so without the write lock.
  if (params.target && !cx.stmt("SELECT 1 FROM jobs WHERE target = ? AND status IN ('queued', 'scheduled') LIMIT 1").get(params.target)) {
    return { jobs: [], nextRunAt: null };
  }
  let changed = false;
  const result = cx.write(() => {
    const r = claimInTransaction(cx, params, now);
    changed = r.changed;
    return r.result;
  }, false);
  if (changed) cx.feed.notify();
  return result;
}

/**
 * Takes up to `n` jobs of one queue. The limit is computed inside the statement from the queue's
 * state, its concurrency and the jobs running in it right now, so the cap holds across every
 * process sharing the file. A target's jobs are claimed by its own lane, capped by the target's
 * limit too; a job whose run on the target is still open (its worker went away) comes first, to
 * be adopted under the same attempt number.
 */
const claimFromQueue = new Map<string, string>();
function claimFromQueueSql(kinds: boolean, target: boolean): string {
  const key = `${kinds ? 1 : 0}${target ? 1 : 0}`;
  let sql = claimFromQueue.get(key);
  if (!sql) {
    sql = `
    UPDATE jobs SET status = 'running', attempts = attempts + 1, attempt = attempt + 1, lease_token = @token,
      lease_expires_at = @expires, worker_id = @worker, started_at = @now, abort_requested = NULL, exit_code = NULL
    WHERE id IN (
      SELECT id FROM jobs
      WHERE queue = @queue AND status = 'queued' ${kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""}
        AND ${target ? "target = @target" : "target IS NULL"}
      ORDER BY ${target ? "coalesce(json_extract(remote, '$.attempt') = attempt + 1, 0) DESC, " : ""}priority, position, id
      LIMIT max(0, min(@n,
        coalesce((SELECT coalesce(concurrency, 1000000000) FROM queues WHERE name = @queue AND state = 'running'), 0)
        - (SELECT count(*) FROM jobs WHERE queue = @queue AND status = 'running')
        ${target ? `, coalesce((SELECT concurrency FROM targets WHERE name = @target), 0)
        - (SELECT count(*) FROM jobs WHERE target = @target AND status = 'running')` : ""}))
    )
    RETURNING ${JOB_COLUMNS}`;
    claimFromQueue.set(key, sql);
  }
  return sql;
}

/** One claim in progress: what it binds and what it has taken so far. */
interface ClaimRun {
  cx: SqliteContext;
  params: ClaimParams;
  kinds: string | null;
  target: string | null;
  /** The lease every job of this claim gets. */
  lease: { token: number; expires: number; worker: string; now: number };
  /** What the queue looks bind. */
  bind: Record<string, string>;
  claimed: Job[];
}

export function claimInTransaction(cx: SqliteContext, params: ClaimParams, now: number): { result: ClaimResult; changed: boolean } {
  if (params.limit + (params.prefetch ?? 0) <= 0) return { result: { jobs: [], nextRunAt: null }, changed: false };
  const promoted = cx.stmt("UPDATE jobs SET status = 'queued' WHERE status = 'scheduled' AND run_at <= ?").run(now);
  const kinds = params.kinds ? JSON.stringify(params.kinds) : null;
  const target = params.target ?? null;
  const token = (cx.stmt("SELECT value FROM meta WHERE key = 'lease_token'").pluck().get() as number) + 1;
  const run: ClaimRun = {
    cx,
    params,
    kinds,
    target,
    lease: { token, expires: now + params.leaseMs, worker: params.workerId, now },
    bind: {
      ...(target === null ? {} : { target }),
      ...(kinds ? { kinds } : {}),
      ...(params.queues ? { queues: JSON.stringify(params.queues) } : {}),
    },
    claimed: [],
  };
  const look = queueLook({ target, kinds: kinds !== null, queues: !!params.queues });
  claimUnlimited(run, look.unlimited);
  claimLimited(run, look);
  const claimed = run.claimed;
  if (claimed.length > 1) claimed.sort(claimOrder);
  if (claimed.length > 0) cx.stmt("UPDATE meta SET value = ? WHERE key = 'lease_token'").run(token);
  const nextRunAt =
    claimed.length > 0 ? null : ((cx.stmt("SELECT min(run_at) FROM jobs WHERE status = 'scheduled'").pluck().get() as number | null) ?? null);
  return { result: { jobs: claimed.map((job): ClaimedJob => ({ job, token })), nextRunAt }, changed: promoted.changes > 0 || claimed.length > 0 };
}

function claimFrom(run: ClaimRun, queue: string, n: number): void {
  const rows = run.cx
    .stmt(claimFromQueueSql(run.kinds !== null, run.target !== null))
    .raw(true)
    .all({ queue, n, ...run.lease, ...(run.kinds ? { kinds: run.kinds } : {}), ...(run.target === null ? {} : { target: run.target }) }) as unknown[][];
  for (const r of rows) run.claimed.push(toJobRaw(r));
}

/** Prefetch only ever comes from queues without a limit: a buffered job of a limited queue would hold one of its few slots. */
function claimUnlimited(run: ClaimRun, lookSql: string): void {
  const most = run.params.limit + (run.params.prefetch ?? 0);
  const names = run.cx.stmt(lookSql).pluck().all(run.bind) as string[];
  const start = names.length ? run.cx.roundRobin++ % names.length : 0;
  for (let k = 0; k < names.length && run.claimed.length < most; k++) claimFrom(run, names[(start + k) % names.length]!, most - run.claimed.length);
}

/**
 * Queues with a limit: only those with a job waiting for this claim and a slot free, taken in
 * turn after the last one served, and only as many as slots remain. This transaction holds the
 * write lock, so each one found gives at least one job: a claim never visits every queue, and
 * without a target one statement takes the first job of each (rounds for more than one each).
 */
function claimLimited(run: ClaimRun, look: { limitedAfter: string; limitedFrom: string }): void {
  const cx = run.cx;
  let slots = run.params.limit - run.claimed.length;
  while (slots > 0) {
    const after = cx.lastLimited;
    const names = cx.stmt(look.limitedAfter).pluck().all({ ...run.bind, after, k: slots }) as string[];
    if (names.length < slots) names.push(...(cx.stmt(look.limitedFrom).pluck().all({ ...run.bind, after, k: slots - names.length }) as string[]));
    if (names.length === 0) break;
    const before = run.claimed.length;
    if (run.target === null) {
      const rows = cx
        .stmt(claimOneEachSql(run.kinds !== null))
        .raw(true)
        .all({ names: JSON.stringify(names), ...run.lease, ...(run.kinds ? { kinds: run.kinds } : {}) }) as unknown[][];
      for (const r of rows) run.claimed.push(toJobRaw(r));
    } else {
      for (const name of names) if (run.claimed.length - before < slots) claimFrom(run, name, slots - (run.claimed.length - before));
    }
    cx.lastLimited = names[names.length - 1]!;
    const got = run.claimed.length - before;
    slots -= got;
    if (got === 0 || run.target !== null) break;
  }
}
