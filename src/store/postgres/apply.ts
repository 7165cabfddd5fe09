/**
 * Applies core's plans. Every transition of one job (an attempt's end, a reap, a cancel, a skip,
 * a requeue, a re-skip) arrives here as a plan, inside the caller's transaction, with its row
 * already locked; this file only writes what the plan says.
 */
import type { Attempt } from "../../core/job.js";
import { type DepState, type Downstream, type JobPatch, type Plan, planReskip } from "../../core/lifecycle/index.js";
import { nextPosition } from "../../core/position.js";
import type { NewJob } from "../../core/spec.js";
import { patchColumns } from "../patch.js";
import type { JobRow } from "../rows.js";
import { newJobRow } from "../shared.js";
import { insertJob } from "./add.js";
import { type PgContext, type Q, ensureQueues, mustRow, q, row, scheduledAt } from "./context.js";

/** Writes the plan; returns the job's row as the plan left it. */
export async function applyPlan(cx: PgContext, c: Q, plan: Plan, now: number): Promise<JobRow> {
  const after = await updateJob(cx, c, plan.id, plan.patch);
  if (plan.attempt) await insertAttempt(cx, c, plan.attempt);
  if (plan.successor) await addSuccessor(cx, c, plan.successor, now);
  if (plan.downstream) await applyDownstream(cx, c, plan.id, plan.downstream, now);
  if (plan.patch.status === "scheduled" && plan.patch.runAt !== undefined) scheduledAt(cx, plan.patch.runAt);
  return after;
}

async function updateJob(cx: PgContext, c: Q, id: string, patch: JobPatch): Promise<JobRow> {
  const cols = patchColumns(patch);
  if (cols.length === 0) return mustRow(cx, c, id);
  const sets = cols.map(([col], i) => `${col} = $${i + 2}`).join(", ");
  return (await q<JobRow>(c, `UPDATE ${cx.t.jobs} SET ${sets} WHERE id = $1 RETURNING *`, [id, ...cols.map(([, v]) => v)]))[0]!;
}

async function insertAttempt(cx: PgContext, c: Q, a: Attempt): Promise<void> {
  await c.query(
    `INSERT INTO ${cx.t.job_attempts} (job_id, attempt, worker_id, started_at, finished_at, outcome, error, exit_code)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [a.jobId, a.attempt, a.workerId, a.startedAt, a.finishedAt, a.outcome, a.error, a.exitCode],
  );
}

/** An escalation's new job is queued at once, in the rule's queue (made if need be). */
async function addSuccessor(cx: PgContext, c: Q, job: NewJob, now: number): Promise<void> {
  await ensureQueues(cx, c, [job.queue], now);
  await insertJob(cx, c, newJobRow(job, { status: "queued", position: nextPosition(now), deps: [], root: null, reason: null, now }));
}

function applyDownstream(cx: PgContext, c: Q, id: string, d: Downstream, now: number): Promise<unknown> {
  switch (d.action) {
    case "unblock":
      return unblockDependents(cx, c, id, now);
    case "skip":
      return skipDownstream(cx, c, d.root, d.reason, now);
    case "unskip":
      return unskipDownstream(cx, c, id, now);
    case "repoint":
      return repointDependents(cx, c, id, d.to);
  }
}

/** Blocked dependents of `id` whose every dependency has completed become ready. */
export async function unblockDependents(cx: PgContext, c: Q, id: string, now: number): Promise<void> {
  // A dependent with a delay still ahead becomes scheduled; look for it soon.
  scheduledAt(cx, now + 1);
  await c.query(
    `UPDATE ${cx.t.jobs} j SET status = CASE WHEN run_at > $2 THEN 'scheduled' ELSE 'queued' END
     WHERE status = 'blocked'
       AND id IN (SELECT job_id FROM ${cx.t.job_deps} WHERE depends_on = $1)
       AND NOT EXISTS (
         SELECT 1 FROM ${cx.t.job_deps} d JOIN ${cx.t.jobs} u ON u.id = d.depends_on
         WHERE d.job_id = j.id AND u.status <> 'completed')`,
    [id, now],
  );
}

/** Every blocked job downstream of `root`, transitively, is skipped, remembering the root. */
async function skipDownstream(cx: PgContext, c: Q, root: string, reason: string, now: number): Promise<void> {
  await c.query(
    `WITH RECURSIVE down(id) AS (
       SELECT d.job_id FROM ${cx.t.job_deps} d JOIN ${cx.t.jobs} j ON j.id = d.job_id
       WHERE d.depends_on = $1 AND j.status = 'blocked'
       UNION
       SELECT d.job_id FROM ${cx.t.job_deps} d JOIN down ON d.depends_on = down.id JOIN ${cx.t.jobs} j ON j.id = d.job_id
       WHERE j.status = 'blocked'
     )
     UPDATE ${cx.t.jobs} SET status = 'skipped', skipped_by = $1, reason = $2, finished_at = $3
     WHERE id IN (SELECT id FROM down)`,
    [root, reason, now],
  );
}

/**
 * Jobs skipped because of `root` wait again; one that another of its dependencies still dooms
 * is skipped again (core's re-skip), and the cascade continues from it.
 */
async function unskipDownstream(cx: PgContext, c: Q, root: string, now: number): Promise<void> {
  const back = await q<{ id: string }>(
    c,
    `UPDATE ${cx.t.jobs} SET status = 'blocked', skipped_by = NULL, reason = NULL, finished_at = NULL
     WHERE skipped_by = $1 AND status = 'skipped' RETURNING id`,
    [root],
  );
  for (const { id } of back) {
    const plan = planReskip({ id }, { deps: await depStates(cx, c, id), now });
    if (!plan) continue;
    // An earlier re-skip's cascade may have reached it already.
    if ((await row(cx, c, id))?.status !== "blocked") continue;
    await applyPlan(cx, c, plan, now);
  }
}

/** Jobs that waited on `from` now wait on `to`; their `depends_on` lists are rewritten to match. */
async function repointDependents(cx: PgContext, c: Q, from: string, to: string): Promise<void> {
  const dependents = (await q<{ job_id: string }>(c, `SELECT job_id FROM ${cx.t.job_deps} WHERE depends_on = $1`, [from])).map((d) => d.job_id);
  if (dependents.length === 0) return;
  await c.query(`INSERT INTO ${cx.t.job_deps} (job_id, depends_on) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, [dependents, to]);
  await c.query(`DELETE FROM ${cx.t.job_deps} WHERE depends_on = $1`, [from]);
  await c.query(
    `UPDATE ${cx.t.jobs} j SET depends_on = (SELECT json_agg(depends_on ORDER BY depends_on)::text FROM ${cx.t.job_deps} d WHERE d.job_id = j.id)
     WHERE j.id = ANY($1::text[])`,
    [dependents],
  );
}

/** The state of each job `id` depends on, as requeue and re-skip judge it. */
export async function depStates(cx: PgContext, c: Q, id: string): Promise<DepState[]> {
  return q<DepState>(
    c,
    `SELECT u.id, u.status, u.skipped_by AS "skippedBy" FROM ${cx.t.job_deps} d JOIN ${cx.t.jobs} u ON u.id = d.depends_on WHERE d.job_id = $1`,
    [id],
  );
}
