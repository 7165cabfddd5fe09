/**
 * Applies core's plans with SQLite's SQL, inside the caller's write transaction: the job's new
 * fields, the ended attempt, an escalation's successor and what happens downstream.
 */
import type { Job } from "../../core/job.js";
import { type DepState, type Plan, type StoredJob, outcomeOf, planReskip } from "../../core/lifecycle/index.js";
import { nextPosition } from "../../core/position.js";
import { patchColumns } from "../patch.js";
import { type JobRow, toJob } from "../rows.js";
import { newJobRow } from "../shared.js";
import type { FinishOutcome } from "../store.js";
import { insertJob } from "./add.js";
import type { SqliteContext } from "./context.js";

export function applyPlan(cx: SqliteContext, plan: Plan, now: number): JobRow {
  const cols = patchColumns(plan.patch);
  const row =
    cols.length === 0
      ? cx.mustRow(plan.id)
      : (cx.stmt(`UPDATE jobs SET ${cols.map(([c]) => `${c} = ?`).join(", ")} WHERE id = ? RETURNING *`).get(...cols.map(([, v]) => v), plan.id) as JobRow);
  const a = plan.attempt;
  if (a) {
    cx.stmt(
      `INSERT INTO job_attempts (job_id, attempt, worker_id, started_at, finished_at, outcome, error, exit_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(a.jobId, a.attempt, a.workerId, a.startedAt, a.finishedAt, a.outcome, a.error, a.exitCode);
  }
  if (plan.successor) {
    cx.ensureQueue(plan.successor.queue, now);
    insertJob(cx, newJobRow(plan.successor, { status: "queued", position: nextPosition(now), deps: [], root: null, reason: null, now }));
  }
  const d = plan.downstream;
  if (d?.action === "unblock") unblockDependents(cx, plan.id, now);
  else if (d?.action === "skip") skipDownstream(cx, d.root, d.reason, now);
  else if (d?.action === "unskip") unskipDownstream(cx, plan.id, now);
  else if (d?.action === "repoint") repointDependents(cx, plan.id, d.to);
  return row;
}

/** An ended attempt as the worker that asked learns it. */
export function finishOutcome(plan: Plan, before: StoredJob, row: JobRow): FinishOutcome {
  return { id: plan.id, ok: true, ...outcomeOf(plan, before.status), job: toJob(row) };
}

export function appliedJob(cx: SqliteContext, plan: Plan, now: number): Job {
  return toJob(applyPlan(cx, plan, now));
}

/** Blocked dependents whose every dependency has now completed become ready. */
export function unblockDependents(cx: SqliteContext, id: string, now: number): void {
  cx.stmt(
    `UPDATE jobs SET status = CASE WHEN run_at > @now THEN 'scheduled' ELSE 'queued' END
     WHERE status = 'blocked'
       AND id IN (SELECT job_id FROM job_deps WHERE depends_on = @id)
       AND NOT EXISTS (
         SELECT 1 FROM job_deps d JOIN jobs u ON u.id = d.depends_on
         WHERE d.job_id = jobs.id AND u.status <> 'completed')`,
  ).run({ id, now });
}

/** Every job waiting (transitively) on `root` is skipped, remembering `root` so a requeue can undo it. */
function skipDownstream(cx: SqliteContext, root: string, reason: string, now: number): void {
  cx.stmt(
    `WITH RECURSIVE down(id) AS (
       SELECT d.job_id FROM job_deps d JOIN jobs j ON j.id = d.job_id
       WHERE d.depends_on = @root AND j.status = 'blocked'
       UNION
       SELECT d.job_id FROM job_deps d JOIN down ON d.depends_on = down.id JOIN jobs j ON j.id = d.job_id
       WHERE j.status = 'blocked'
     )
     UPDATE jobs SET status = 'skipped', skipped_by = @root, reason = @reason, finished_at = @now
     WHERE id IN (SELECT id FROM down)`,
  ).run({ root, reason, now });
}

export function depStates(cx: SqliteContext, id: string): DepState[] {
  return cx
    .stmt("SELECT u.id, u.status, u.skipped_by AS skippedBy FROM job_deps d JOIN jobs u ON u.id = d.depends_on WHERE d.job_id = ?")
    .all(id) as DepState[];
}

/** Jobs skipped because `root` ended wait again, unless another dependency of theirs is still doomed. */
function unskipDownstream(cx: SqliteContext, root: string, now: number): void {
  const back = cx
    .stmt(
      `UPDATE jobs SET status = 'blocked', skipped_by = NULL, reason = NULL, finished_at = NULL
       WHERE skipped_by = ? AND status = 'skipped' RETURNING id`,
    )
    .pluck()
    .all(root) as string[];
  for (const id of back) {
    const plan = planReskip({ id }, { deps: depStates(cx, id), now });
    // An earlier job of this loop may have skipped it again already, from its own cascade.
    if (plan && cx.row(id)!.status === "blocked") applyPlan(cx, plan, now);
  }
}

/** Jobs that waited on an escalated job now wait on its successor. */
function repointDependents(cx: SqliteContext, from: string, to: string): void {
  const dependents = cx.stmt("SELECT job_id FROM job_deps WHERE depends_on = ?").pluck().all(from) as string[];
  for (const d of dependents) {
    cx.stmt("UPDATE OR IGNORE job_deps SET depends_on = ? WHERE job_id = ? AND depends_on = ?").run(to, d, from);
    cx.stmt("DELETE FROM job_deps WHERE job_id = ? AND depends_on = ?").run(d, from);
    cx.stmt("UPDATE jobs SET depends_on = (SELECT json_group_array(depends_on) FROM job_deps WHERE job_id = ?) WHERE id = ?").run(d, d);
  }
}
