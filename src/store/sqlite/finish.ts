/**
 * Ending attempts. Every write is guarded by the lease token: a worker that lost its lease
 * (reaped, or the job was cancelled and finished) changes nothing and is told so. What each end
 * does to the job is core's plan; completions of a batch take a path of their own, the drain's.
 */
import type { EscalationRule } from "../../core/job.js";
import { type Finish, planFinish, planReap, reapReadsLossHistory } from "../../core/lifecycle/index.js";
import { encodePayload } from "../../core/spec.js";
import { type JobRow, toStoredJob } from "../rows.js";
import type { ClaimParams, ClaimResult, FinishOutcome, ReapResult } from "../store.js";
import { applyPlan, finishOutcome, unblockDependents } from "./apply.js";
import { claimInTransaction } from "./claim.js";
import type { SqliteContext } from "./context.js";

type CompletedFinish = Extract<Finish, { outcome: "completed" }>;

export function jobFinishMany(cx: SqliteContext, params: { finishes: Finish[]; now?: number; returnJobs?: boolean }): FinishOutcome[] {
  const now = params.now ?? Date.now();
  const finishes = params.finishes;
  if (finishes.length === 0) return [];
  const rules = finishes.some((f) => f.outcome !== "completed") ? cx.rules() : [];
  return cx.write(() => finishInTransaction(cx, finishes, now, params.returnJobs ?? true, rules));
}

/**
 * Ends attempts and claims the next jobs in one transaction: a busy worker pays one commit per
 * cycle instead of two.
 */
export function jobFinishAndClaim(
  cx: SqliteContext,
  params: { finishes: Finish[]; claim: ClaimParams; now?: number },
): ClaimResult & { outcomes: FinishOutcome[] } {
  const now = params.now ?? Date.now();
  const rules = params.finishes.some((f) => f.outcome !== "completed") ? cx.rules() : [];
  return cx.write(() => {
    const outcomes = finishInTransaction(cx, params.finishes, now, false, rules);
    return { outcomes, ...claimInTransaction(cx, params.claim, now).result };
  });
}

function finishInTransaction(cx: SqliteContext, finishes: Finish[], now: number, returnJobs: boolean, rules: EscalationRule[]): FinishOutcome[] {
  recordExitCodes(cx, finishes);
  const out: FinishOutcome[] = new Array(finishes.length);
  const completes: number[] = [];
  finishes.forEach((f, i) => {
    if (f.outcome === "completed" && !returnJobs) completes.push(i);
    else out[i] = finishOne(cx, f, now, rules);
  });
  if (completes.length > 0) {
    const done = completeMany(cx, completes.map((i) => finishes[i]!) as CompletedFinish[], now);
    done.forEach((o, k) => (out[completes[k]!] = o));
  }
  return out;
}

/** Exit codes are written first, guarded like the rest, so the job and its attempt both carry them. */
function recordExitCodes(cx: SqliteContext, finishes: Finish[]): void {
  for (const f of finishes) {
    if ((f.outcome === "completed" || f.outcome === "failed") && f.exitCode !== undefined) {
      cx.stmt("UPDATE jobs SET exit_code = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(f.exitCode, f.id, f.token);
    }
  }
}

function finishOne(cx: SqliteContext, f: Finish, now: number, rules: EscalationRule[]): FinishOutcome {
  const r = cx.stmt("SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running'").get(f.id, f.token) as JobRow | undefined;
  if (!r) return { id: f.id, ok: false, status: null, retryAt: null, escalatedTo: null, job: null };
  const job = toStoredJob(r);
  const plan = planFinish(job, f, { rules, now });
  return finishOutcome(plan, job, applyPlan(cx, plan, now));
}

/**
 * The hot path of a drain: every completion of a batch in two statements (update, dependents)
 * instead of several per job. Jobs are not read back; the caller has them.
 */
function completeMany(cx: SqliteContext, finishes: CompletedFinish[], now: number): FinishOutcome[] {
  const list = JSON.stringify(finishes.map((f) => [f.id, f.token, f.result === undefined ? null : encodePayload(f.result, "result")]));
  const done = cx.stmt(
    `UPDATE jobs SET status = 'completed', result = f.result, error = NULL, reason = NULL, finished_at = @now,
       lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS token, value ->> 2 AS result FROM json_each(@list)) AS f
     WHERE jobs.id = f.id AND jobs.lease_token = f.token AND jobs.status = 'running'
     RETURNING jobs.id`,
  )
    .pluck()
    .all({ list, now }) as string[];
  if (done.length > 0) {
    const ids = JSON.stringify(done);
    const waiting = cx.stmt(
      "SELECT DISTINCT depends_on FROM job_deps WHERE depends_on IN (SELECT value FROM json_each(?))",
    )
      .pluck()
      .all(ids) as string[];
    for (const id of waiting) unblockDependents(cx, id, now);
  }
  const ok = new Set(done);
  return finishes.map((f) => ({
    id: f.id,
    ok: ok.has(f.id),
    status: ok.has(f.id) ? "completed" : null,
    retryAt: null,
    escalatedTo: null,
    job: null,
  }));
}

export function jobReapExpired(cx: SqliteContext, params: { now?: number }): ReapResult {
  const now = params.now ?? Date.now();
  const out: ReapResult = { requeued: [], failed: [], cancelled: [] };
  const expired = cx.stmt("SELECT id, lease_token FROM jobs WHERE status = 'running' AND lease_expires_at < ?").all(now) as { id: string; lease_token: number }[];
  if (expired.length === 0) return out;
  const rules = cx.rules();
  // Read and write in one IMMEDIATE transaction: a completion cannot slip in between, and each
  // write re-checks the token, so a job completed before the reaper ran is never touched.
  cx.write(() => {
    for (const e of expired) {
      const r = cx
        .stmt("SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running' AND lease_expires_at < ?")
        .get(e.id, e.lease_token, now) as JobRow | undefined;
      if (!r) continue;
      const job = toStoredJob(r);
      const lostBefore =
        reapReadsLossHistory(job) && cx.stmt("SELECT 1 FROM job_attempts WHERE job_id = ? AND outcome = 'lost' LIMIT 1").get(r.id) !== undefined;
      const status = applyPlan(cx, planReap(job, { lostBefore, rules, now }), now).status;
      if (status === "cancelled") out.cancelled.push(r.id);
      else if (status === "failed") out.failed.push(r.id);
      else out.requeued.push(r.id);
    }
  });
  return out;
}
