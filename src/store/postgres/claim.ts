/**
 * Claims. Jobs are taken with FOR UPDATE SKIP LOCKED; a queue with a concurrency limit is
 * claimed from by one transaction at a time (an advisory lock named after it, skipped by the
 * others), so the limit holds across every machine, while a queue without a limit pays for no lock.
 */
import type pg from "pg";
import { JOB_COLUMNS, toJobRaw } from "../rows.js";
import { claimOrder } from "../shared.js";
import type { ClaimedJob, ClaimParams, ClaimResult } from "../store.js";
import { type PgContext, exec, execRaw, named, tx, withClient } from "./context.js";

/** The claimed rows' columns, then the fencing token, read back as arrays by `toJobRaw`. */
export const CLAIM_RETURNING = `${JOB_COLUMNS.split(", ").map((col) => `j.${col}`).join(", ")}, j.lease_token`;

/** What a claim writes on each row it takes; the arguments are SQL (placeholders or literals). */
export function claimSet(cx: PgContext, v: { expires: string; worker: string; now: string }): string {
  return `status = 'running', attempts = attempts + 1, attempt = attempt + 1, lease_token = (SELECT nextval('${cx.schema}.lease_token')),
    lease_expires_at = ${v.expires}, worker_id = ${v.worker}, started_at = ${v.now}, abort_requested = NULL, exit_code = NULL`;
}

export async function jobClaim(cx: PgContext, params: ClaimParams): Promise<ClaimResult> {
  if (params.limit + (params.prefetch ?? 0) <= 0) return { jobs: [], nextRunAt: null };
  const now = params.now ?? Date.now();
  await promoteDue(cx, now);
  if (params.target) return claimForTarget(cx, params, params.target, now);
  // Queues without a limit: one statement, no transaction, no lock but the rows' own.
  const free = mayHaveUnlimited(cx, params) ? await claimUnlimited(cx, params, params.limit + (params.prefetch ?? 0), now) : [];
  return claimLimitedAndFinish(cx, params, free, now);
}

/** A target's lane: every running queue in turn, each claim under the target's lock (and the queue's, when it has a limit). */
async function claimForTarget(cx: PgContext, params: ClaimParams, target: string, now: number): Promise<ClaimResult> {
  // Only the running queues that hold a waiting job of this target: a lane wakes on every change, and most find nothing.
  const rows = await exec<{ name: string }>(
    cx,
    `SELECT name FROM ${cx.t.queues} WHERE state = 'running' AND ($1::text[] IS NULL OR name = ANY($1::text[]))
       AND name IN (SELECT DISTINCT queue FROM ${cx.t.jobs} WHERE target = $2 AND status = 'queued')
     ORDER BY name`,
    [params.queues ?? null, target],
  );
  const claimed: ClaimedJob[] = [];
  const start = rows.length ? cx.state.roundRobin++ % rows.length : 0;
  for (let k = 0; k < rows.length && claimed.length < params.limit; k++) {
    claimed.push(...(await claimLimited(cx, rows[(start + k) % rows.length]!.name, params, params.limit - claimed.length, now, target)));
  }
  if (claimed.length > 1) claimed.sort((a, b) => claimOrder(a.job, b.job));
  return { jobs: claimed, nextRunAt: null };
}

/** Tops up a claim from queues with a limit, and says when the next scheduled job falls due if nothing was found. */
export async function claimLimitedAndFinish(cx: PgContext, params: ClaimParams, claimed: ClaimedJob[], now: number): Promise<ClaimResult> {
  for (let pass = 0; pass < 2; pass++) {
    // A second pass with fresh queue names when the first found nothing: a queue made a moment ago.
    const cached = cx.state.limitedCache !== null && Date.now() - cx.state.limitedCache.at < 1000;
    if (pass === 1) {
      if (claimed.length > 0 || !cached) break;
      cx.state.limitedCache = null;
    }
    const limited = (await limitedQueues(cx)).filter((name) => !params.queues || params.queues.includes(name));
    if (limited.length > 0 && claimed.length < params.limit) claimed.push(...(await claimLimitedMany(cx, params, params.limit - claimed.length, now)));
  }
  if (claimed.length > 1) claimed.sort((a, b) => claimOrder(a.job, b.job));
  let nextRunAt: number | null = null;
  if (claimed.length === 0) {
    nextRunAt = (await exec<{ t: number | null }>(cx, `SELECT min(run_at) AS t FROM ${cx.t.jobs} WHERE status = 'scheduled'`))[0]?.t ?? null;
    if (nextRunAt !== null) cx.state.nextDueAt = Math.min(cx.state.nextDueAt, nextRunAt);
  }
  return { jobs: claimed, nextRunAt };
}

/**
 * CTEs `qs` and `cand`: the next jobs, in claim order, of the running queues without a limit.
 * The UPDATE that follows finds the rows as `id = ANY(ARRAY(SELECT id FROM cand))`, never as a
 * join on cand: once the statistics say the table is big, the planner hashes a join by reading
 * all of it (20,000 waiting jobs: 16 ms a claim instead of 0.3).
 */
export function claimCtes(cx: PgContext, p: { queues: string; n: string; kinds: string }): string {
  return `qs AS (
       SELECT name FROM ${cx.t.queues}
       WHERE state = 'running' AND concurrency IS NULL AND (${p.queues}::text[] IS NULL OR name = ANY(${p.queues}::text[]))),
     cand AS (
       SELECT c.id FROM qs CROSS JOIN LATERAL (
         SELECT id, priority, position FROM ${cx.t.jobs}
         WHERE queue = qs.name AND status = 'queued' AND target IS NULL AND (${p.kinds}::text[] IS NULL OR kind = ANY(${p.kinds}::text[]))
         ORDER BY priority, position, id LIMIT ${p.n}::int FOR UPDATE SKIP LOCKED) c
       ORDER BY c.priority, c.position, c.id LIMIT ${p.n}::int)`;
}

/** Scheduled jobs whose time has come become queued; runs when one is known to be due, and at least once a second. */
export async function promoteDue(cx: PgContext, now: number): Promise<void> {
  const s = cx.state;
  if (now < s.nextDueAt && now - s.lastPromote < 1000) return;
  s.lastPromote = now;
  s.nextDueAt = Number.POSITIVE_INFINITY;
  const r = await exec<{ n: number; next: number | null }>(
    cx,
    `WITH p AS (UPDATE ${cx.t.jobs} SET status = 'queued' WHERE status = 'scheduled' AND run_at <= $1 RETURNING 1)
     SELECT (SELECT count(*)::int FROM p) AS n,
            (SELECT min(run_at) FROM ${cx.t.jobs} WHERE status = 'scheduled' AND run_at > $1) AS next`,
    [now],
  );
  if (r[0]?.next != null) s.nextDueAt = r[0].next;
  if ((r[0]?.n ?? 0) > 0) await exec(cx, "SELECT pg_notify($1, '')", [cx.channel]);
}

/** Running queues with a limit, refreshed every second (the claim re-checks each one under its lock). */
async function limitedQueues(cx: PgContext): Promise<string[]> {
  const now = Date.now();
  const cache = cx.state.limitedCache;
  if (cache && now - cache.at < 1000) return cache.names;
  const rows = await exec<{ name: string; limited: boolean }>(
    cx,
    `SELECT name, concurrency IS NOT NULL AS limited FROM ${cx.t.queues} WHERE state = 'running' ORDER BY name`,
  );
  cx.state.limitedCache = { at: now, names: rows.filter((r) => r.limited).map((r) => r.name) };
  return cx.state.limitedCache.names;
}

/** False when every queue asked for is known to have a limit: the claim over queues without one would find nothing. */
function mayHaveUnlimited(cx: PgContext, params: ClaimParams): boolean {
  const c = cx.state.limitedCache;
  if (!c || !params.queues || Date.now() - c.at >= 1000) return true;
  return params.queues.some((name) => !c.names.includes(name));
}

async function claimUnlimited(cx: PgContext, params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
  const res = await execRaw(
    cx,
    `WITH ${claimCtes(cx, { queues: "$1", n: "$2", kinds: "$6" })}
     UPDATE ${cx.t.jobs} j SET ${claimSet(cx, { expires: "$3", worker: "$4", now: "$5" })}
     WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
     RETURNING ${CLAIM_RETURNING}`,
    [params.queues ?? null, n, now + params.leaseMs, params.workerId, now, params.kinds ?? null],
    "claim",
  );
  return withTokens(res);
}

/** The pick and the claim of `claimLimitedMany`; their text depends only on the schema. */
function limitedClaimSql(cx: PgContext): { pick: string; claim: string } {
  const { jobs, queues } = cx.t;
  // The queues in name order, probed lazily (OFFSET 0 keeps the planner from probing them all before sorting).
  const look = (range: string) => `(SELECT q.name FROM (
        SELECT name, concurrency FROM ${queues}
        WHERE state = 'running' AND concurrency IS NOT NULL AND ${range} AND ($2::text[] IS NULL OR name = ANY($2::text[]))
        ORDER BY name OFFSET 0) q
      WHERE EXISTS (SELECT 1 FROM ${jobs} WHERE queue = q.name AND status = 'queued' AND target IS NULL AND ($3::text[] IS NULL OR kind = ANY($3::text[])))
        AND (SELECT count(*) FROM ${jobs} WHERE queue = q.name AND status = 'running') < q.concurrency
      LIMIT $4::int)`;
  const pick = `WITH c AS MATERIALIZED (
        SELECT name, 0 AS part FROM ${look("name > $1")} a
        UNION ALL SELECT name, 1 AS part FROM ${look("name <= $1")} b),
      first AS (SELECT name, part FROM c ORDER BY part, name LIMIT $4::int)
    SELECT name FROM first WHERE pg_try_advisory_xact_lock(hashtext($5 || name)) ORDER BY part, name`;
  const claim = `WITH q AS (
        SELECT q.name, q.concurrency FROM unnest($1::text[]) AS n(name) JOIN ${queues} q ON q.name = n.name
        WHERE q.state = 'running' AND q.concurrency IS NOT NULL),
      cand AS (
        SELECT c.id FROM q CROSS JOIN LATERAL (
          SELECT id, priority, position FROM ${jobs}
          WHERE queue = q.name AND status = 'queued' AND target IS NULL AND ($2::text[] IS NULL OR kind = ANY($2::text[]))
          ORDER BY priority, position, id
          LIMIT greatest(0, q.concurrency - (SELECT count(*) FROM ${jobs} WHERE queue = q.name AND status = 'running'))
          FOR UPDATE SKIP LOCKED) c
        ORDER BY c.priority, c.position, c.id LIMIT $3::int)
    UPDATE ${jobs} j SET ${claimSet(cx, { expires: "$4", worker: "$5", now: "$6" })}
    WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
    RETURNING ${CLAIM_RETURNING}`;
  return { pick, claim };
}

/**
 * Up to `n` jobs from queues with a limit, in one transaction however many queues there are.
 * The first statement picks the running queues that hold a job for this claim and have a slot
 * free, in name order after the last one served and no more than `n` of them (each gives at
 * least one job), and takes each one's advisory lock without waiting (the same lock as
 * `claimLimited`; a queue whose lock another claimer holds is left to it). The claim, a
 * separate statement and so on a snapshot taken after the locks, re-counts each locked queue's
 * running jobs and takes what its limit leaves. Both are prepared: planning them anew each time
 * cost more than running them.
 */
function claimLimitedMany(cx: PgContext, params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
  return tx(cx, (client) => claimLimitedIn(cx, client, params, n, now), { notify: false });
}

/** The two statements of `claimLimitedMany`, inside a transaction the caller holds. */
async function claimLimitedIn(cx: PgContext, client: pg.PoolClient, params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
  const { pick, claim } = limitedClaimSql(cx);
  const picked = await client.query<{ name: string }>({
    name: named(cx, "claim_pick"),
    text: pick,
    values: [cx.state.lastLimited, params.queues ?? null, params.kinds ?? null, n, `runway:claim:${cx.schema}:`],
  });
  const names = picked.rows.map((r) => r.name);
  if (names.length === 0) return [];
  cx.state.lastLimited = names[names.length - 1]!;
  const res = await client.query({
    name: named(cx, "claim_limited"),
    text: claim,
    values: [names, params.kinds ?? null, n, now + params.leaseMs, params.workerId, now],
    rowMode: "array",
  });
  return withTokens(res as unknown as pg.QueryResult<any[]>);
}

/**
 * One claimer at a time per limited queue, in one round trip. The first statement takes an
 * advisory lock named after the queue without waiting (a worker that cannot have it skips the
 * queue: no deadlock, no queueing behind each other) and records whether it got it; the claim,
 * a separate statement and so on a snapshot taken after the lock, counts the queue's running
 * jobs, sees every claim committed before, and takes nothing unless the lock was got.
 * Values are inlined as escaped literals: a simple query can carry several statements.
 */
function claimLimited(cx: PgContext, queue: string, params: ClaimParams, n: number, now: number, target: string | null = null): Promise<ClaimedJob[]> {
  return withClient(
    cx,
    async (client) => {
      const lit = (v: string) => client.escapeLiteral(v);
      const qn = lit(queue);
      const key = lit(`runway:claim:${cx.schema}:${queue}`);
      const kinds = params.kinds ? `ARRAY[${params.kinds.map(lit).join(", ") || "NULL"}]::text[]` : "NULL::text[]";
      const num = (v: number) => String(Math.trunc(v));
      const t = target === null ? null : lit(target);
      const { jobs, queues, targets } = cx.t;
      // A target's lane holds the target's lock as well, and takes a job whose run is still open (to adopt it) first.
      const lock = t === null ? `pg_try_advisory_xact_lock(hashtext(${key}))` : `pg_try_advisory_xact_lock(hashtext(${key})) AND pg_try_advisory_xact_lock(hashtext(${lit(`runway:target:${cx.schema}:${target}`)}))`;
      const sql = `BEGIN;
        SELECT set_config('runway.claim_lock', (${lock})::text, true);
        WITH cand AS (
          SELECT id FROM ${jobs}
          WHERE queue = ${qn} AND status = 'queued' AND (${kinds} IS NULL OR kind = ANY(${kinds}))
            AND ${t === null ? "target IS NULL" : `target = ${t}`}
          ORDER BY ${t === null ? "" : "coalesce((remote::json->>'attempt')::int = attempt + 1, false) DESC, "}priority, position, id
          LIMIT CASE WHEN current_setting('runway.claim_lock', true) = 'true' THEN greatest(0, least(${num(n)},
            coalesce((SELECT coalesce(concurrency, 1000000000) FROM ${queues} WHERE name = ${qn} AND state = 'running'), 0)
            - (SELECT count(*) FROM ${jobs} WHERE queue = ${qn} AND status = 'running')
            ${t === null ? "" : `, coalesce((SELECT concurrency FROM ${targets} WHERE name = ${t}), 0)
            - (SELECT count(*) FROM ${jobs} WHERE target = ${t} AND status = 'running')`})) ELSE 0 END
          FOR UPDATE SKIP LOCKED)
        UPDATE ${jobs} j SET ${claimSet(cx, { expires: num(now + params.leaseMs), worker: lit(params.workerId), now: num(now) })}
        WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
        RETURNING ${CLAIM_RETURNING};
        COMMIT;`;
      const results = (await client.query({ text: sql, rowMode: "array" })) as unknown as pg.QueryResult<any[]>[];
      return withTokens(results[2]!);
    },
    async (client) => void (await client.query("ROLLBACK")),
  );
}

/** Claimed rows come back as arrays: the job's columns, then its fencing token. */
export function withTokens(res: pg.QueryResult<any[]>): ClaimedJob[] {
  return res.rows.map((row: unknown[]) => ({ job: toJobRaw(row), token: Number(row[row.length - 1]) }));
}
