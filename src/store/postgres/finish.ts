/**
 * Ending attempts, guarded by the lease token: a batch of completions in one statement (the
 * drain's hot path), anything else as core's plan for the locked row; and the reaper, which ends
 * attempts whose lease expired.
 */
import { type Finish, outcomeOf, planFinish, planReap, reapReadsLossHistory } from "../../core/lifecycle/index.js";
import type { EscalationRule } from "../../core/job.js";
import { encodePayload } from "../../core/spec.js";
import { JOB_COLUMNS, type JobRow, toJob, toJobRaw, toStoredJob } from "../rows.js";
import type { ClaimParams, ClaimResult, FinishOutcome, ReapResult } from "../store.js";
import { applyPlan, unblockDependents } from "./apply.js";
import { CLAIM_RETURNING, claimCtes, claimLimitedAndFinish, claimSet, jobClaim, promoteDue } from "./claim.js";
import { type PgContext, type Q, exec, loadRules, q, read, stillRunning, tx } from "./context.js";

type CompletedFinish = Extract<Finish, { outcome: "completed" }>;
type Summary = { ids: string[] | null; waiting: string[] | null; limited: boolean | null };

export async function jobFinishMany(cx: PgContext, params: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<FinishOutcome[]> {
  const now = params.now ?? Date.now();
  const finishes = params.finishes;
  if (finishes.length === 0) return [];
  await recordExitCodes(cx, finishes);
  const returnJobs = params.returnJobs ?? true;
  if (!returnJobs && finishes.every((f) => f.outcome === "completed")) {
    // The drain's hot path: one statement, atomic on its own, one round trip.
    return completeMany(cx, null, finishes as CompletedFinish[], now);
  }
  return tx(
    cx,
    async (c, wake) => {
      const rules = finishes.some((f) => f.outcome !== "completed") ? await loadRules(cx, c) : [];
      const out: FinishOutcome[] = new Array(finishes.length);
      const completes: number[] = [];
      for (const [i, f] of finishes.entries()) {
        if (f.outcome === "completed" && !returnJobs) completes.push(i);
        else {
          out[i] = await finishOne(cx, c, f, now, rules);
          wake();
        }
      }
      if (completes.length > 0) {
        const done = await completeMany(cx, c, completes.map((i) => finishes[i]!) as CompletedFinish[], now);
        wake();
        done.forEach((o, k) => (out[completes[k]!] = o));
      }
      return out;
    },
    { notify: "ask" },
  );
}

/** One attempt's end as core plans it, for the row read and locked under its token. */
async function finishOne(cx: PgContext, c: Q, f: Finish, now: number, rules: EscalationRule[]): Promise<FinishOutcome> {
  const r = (await q<JobRow>(c, `SELECT * FROM ${cx.t.jobs} WHERE id = $1 AND lease_token = $2 AND ${stillRunning()} FOR UPDATE`, [f.id, f.token]))[0];
  if (!r) return { id: f.id, ok: false, status: null, retryAt: null, escalatedTo: null, job: null };
  const job = toStoredJob(r);
  const plan = planFinish(job, f, { rules, now });
  const after = await applyPlan(cx, c, plan, now);
  return { id: f.id, ok: true, ...outcomeOf(plan, job.status), job: toJob(after) };
}

/** Exit codes are written first, guarded like the rest, so the job and its attempt both carry them. */
async function recordExitCodes(cx: PgContext, finishes: Finish[]): Promise<void> {
  const withCodes = finishes.filter(
    (f): f is Extract<Finish, { exitCode?: number | null }> => (f.outcome === "completed" || f.outcome === "failed") && f.exitCode !== undefined,
  );
  if (withCodes.length === 0) return;
  await exec(
    cx,
    `UPDATE ${cx.t.jobs} j SET exit_code = v.code FROM unnest($1::text[], $2::bigint[], $3::int[]) AS v(id, token, code)
     WHERE j.id = v.id AND j.lease_token = v.token AND ${stillRunning("j")}`,
    [withCodes.map((f) => f.id), withCodes.map((f) => f.token), withCodes.map((f) => f.exitCode ?? null)],
  );
}

/**
 * CTE `done`: complete the rows of CTE `f` (id, token, result); the attempt is read back from the
 * job row. The same fields as core's planComplete, written for a whole batch at once.
 */
function completeCtes(cx: PgContext, now: string): string {
  return `done AS (
       UPDATE ${cx.t.jobs} j SET status = 'completed', result = f.result, error = NULL, reason = NULL, finished_at = ${now},
         lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
       FROM f WHERE j.id = f.id AND j.lease_token = f.token AND ${stillRunning("j")}
       RETURNING j.id, j.queue)`;
}

/** What a batch of completions leaves to do: which ones took, which had dependents, whether a limited queue got a slot back. */
function completeSummary(cx: PgContext): string {
  return `(SELECT array_agg(id) FROM done) AS ids,
     (SELECT array_agg(DISTINCT depends_on) FROM ${cx.t.job_deps} WHERE depends_on IN (SELECT id FROM done)) AS waiting,
     (SELECT bool_or(concurrency IS NOT NULL) FROM ${cx.t.queues} WHERE name IN (SELECT queue FROM done)) AS limited`;
}

const results = (finishes: CompletedFinish[]) => finishes.map((f) => (f.result === undefined ? null : encodePayload(f.result, "result")));

/** Every completion of a batch in one statement (update, attempts, dependents found), not read back. */
async function completeMany(cx: PgContext, c: Q | null, finishes: CompletedFinish[], now: number): Promise<FinishOutcome[]> {
  const sql = `WITH f AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f(id, token, result)),
     ${completeCtes(cx, "$4")}
     SELECT ${completeSummary(cx)}`;
  const values = [finishes.map((f) => f.id), finishes.map((f) => f.token), results(finishes), now];
  if (!c) return afterComplete(cx, finishes, (await exec<Summary>(cx, sql, values, "complete"))[0], now);
  const r = (await q<Summary>(c, sql, values))[0];
  for (const id of r?.waiting ?? []) await unblockDependents(cx, c, id, now);
  return completedOutcomes(finishes, r);
}

function completedOutcomes(finishes: CompletedFinish[], r: Summary | undefined): FinishOutcome[] {
  const ok = new Set(r?.ids ?? []);
  return finishes.map((f) => ({ id: f.id, ok: ok.has(f.id), status: ok.has(f.id) ? "completed" : null, retryAt: null, escalatedTo: null, job: null }));
}

async function afterComplete(cx: PgContext, finishes: CompletedFinish[], r: Summary | undefined, now: number): Promise<FinishOutcome[]> {
  const waiting = r?.waiting ?? [];
  // Rare: jobs waited on these. Unblocking them reads several rows, so it gets a transaction.
  if (waiting.length > 0) await tx(cx, async (t) => { for (const id of waiting) await unblockDependents(cx, t, id, now); });
  // Others need waking only for work this frees: a slot of a limited queue, or jobs that waited on these.
  else if (r?.limited) await exec(cx, "SELECT pg_notify($1, '')", [cx.channel]);
  return completedOutcomes(finishes, r);
}

/**
 * The drain's cycle in one round trip: completions and the next claim from queues without a
 * limit share one statement (disjoint rows: the completed ones are running, the claimed ones
 * queued). Anything else takes the general path.
 */
export async function jobFinishAndClaim(
  cx: PgContext,
  params: { finishes: Finish[]; claim: ClaimParams; now?: number },
): Promise<ClaimResult & { outcomes: FinishOutcome[] }> {
  const now = params.now ?? Date.now();
  const { finishes, claim } = params;
  const wanted = claim.limit + (claim.prefetch ?? 0);
  if (!finishes.every((f) => f.outcome === "completed") || wanted <= 0 || claim.target) {
    const outcomes = await jobFinishMany(cx, { finishes, now, returnJobs: false });
    const claimed = wanted > 0 ? await jobClaim(cx, { ...claim, now }) : { jobs: [], nextRunAt: null };
    return { outcomes, ...claimed };
  }
  await promoteDue(cx, now);
  await recordExitCodes(cx, finishes);
  const completes = finishes as CompletedFinish[];
  const sql = `WITH f AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f(id, token, result)),
     ${completeCtes(cx, "$4")},
     ${claimCtes(cx, { queues: "$5", n: "$6", kinds: "$9" })},
     claimed AS (
       UPDATE ${cx.t.jobs} j SET ${claimSet(cx, { expires: "$7", worker: "$8", now: "$4" })}
       WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
       RETURNING ${CLAIM_RETURNING})
     SELECT ${completeSummary(cx)},
            (SELECT json_agg(json_build_array(${JOB_COLUMNS}, lease_token)) FROM claimed) AS claimed,
            -- A slot of a limited queue freed: the other workers are woken here rather than by a round trip of its own.
            (SELECT pg_notify($10, '') FROM ${cx.t.queues} WHERE concurrency IS NOT NULL AND name IN (SELECT queue FROM done) LIMIT 1) AS notified`;
  const values = [
    completes.map((f) => f.id),
    completes.map((f) => f.token),
    results(completes),
    now,
    claim.queues ?? null,
    wanted,
    now + claim.leaseMs,
    claim.workerId,
    claim.kinds ?? null,
    cx.channel,
  ];
  // Queues with a limit are claimed in a transaction of their own, after this one commits: a
  // claim joined to the completions would always refill the slots they free before any other
  // worker heard of them, and one worker would keep a limited queue to itself.
  const r = (await exec<Summary & { claimed: unknown[][] | null }>(cx, sql, values, "finish_claim"))[0];
  const outcomes = await afterComplete(cx, completes, r && { ...r, limited: false }, now);
  const claimed = (r?.claimed ?? []).map((row) => ({ job: toJobRaw(row), token: Number(row[row.length - 1]) }));
  return { outcomes, ...(await claimLimitedAndFinish(cx, claim, claimed, now)) };
}

/**
 * Ends the attempts whose lease expired, as core's reap plans them. Each row is locked and
 * re-checked: a completion that holds the row is skipped, one that committed first makes the
 * lookup match nothing.
 */
export async function jobReapExpired(cx: PgContext, params: { now?: number }): Promise<ReapResult> {
  const now = params.now ?? Date.now();
  const out: ReapResult = { requeued: [], failed: [], cancelled: [] };
  const expired = await read(cx, (c) =>
    q<{ id: string; lease_token: number }>(
      c,
      `SELECT id, lease_token FROM ${cx.t.jobs} WHERE status = 'running' AND lease_expires_at < $1 ORDER BY lease_expires_at LIMIT 500`,
      [now],
    ),
  );
  if (expired.length === 0) return out;
  await tx(cx, async (c) => {
    const rules = await loadRules(cx, c);
    for (const e of expired) {
      const r = (
        await q<JobRow>(
          c,
          `SELECT * FROM ${cx.t.jobs} WHERE id = $1 AND lease_token = $2 AND ${stillRunning()} AND lease_expires_at < $3
           FOR UPDATE SKIP LOCKED`,
          [e.id, e.lease_token, now],
        )
      )[0];
      if (!r) continue;
      const job = toStoredJob(r);
      const plan = planReap(job, { lostBefore: reapReadsLossHistory(job) && (await lostBefore(cx, c, r.id)), rules, now });
      await applyPlan(cx, c, plan, now);
      const { status } = outcomeOf(plan, job.status);
      (status === "cancelled" ? out.cancelled : status === "failed" ? out.failed : out.requeued).push(r.id);
    }
  });
  return out;
}

/** Whether an earlier attempt of the job was lost already: a second loss counts against its budget. */
async function lostBefore(cx: PgContext, c: Q, id: string): Promise<boolean> {
  return (await q(c, `SELECT 1 FROM ${cx.t.job_attempts} WHERE job_id = $1 AND outcome = 'lost' LIMIT 1`, [id])).length > 0;
}
