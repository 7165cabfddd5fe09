/** What a person does to a job: cancel, skip, requeue (core decides each) and move (core places it). */
import type { Job } from "../../core/job.js";
import {
  type Plan,
  type StoredJob,
  checkMovable,
  checkMoveBeside,
  keyHeldError,
  planCancel,
  planRequeue,
  planSkip,
  positionAtTop,
  positionBeside,
  spreadPositions,
} from "../../core/lifecycle/index.js";
import { nextPosition } from "../../core/position.js";
import { type JobRow, toJob, toStoredJob } from "../rows.js";
import { ACTIVE_SQL } from "../shared.js";
import type { MoveTarget } from "../store.js";
import { applyPlan, depStates } from "./apply.js";
import { type PgContext, type Q, mustRow, q, tx } from "./context.js";

/** Reads and locks the job, asks core for a plan, applies it: one transaction. */
function steer(cx: PgContext, id: string, now: number, plan: (c: Q, job: StoredJob) => Promise<Plan> | Plan): Promise<Job> {
  return tx(cx, async (c) => {
    const job = toStoredJob(await mustRow(cx, c, id, true));
    return toJob(await applyPlan(cx, c, await plan(c, job), now));
  });
}

export function jobCancel(cx: PgContext, params: { id: string; reason?: string; now?: number }): Promise<Job> {
  const now = params.now ?? Date.now();
  return steer(cx, params.id, now, (_, job) => planCancel(job, { ...reasonOf(params), now }));
}

export function jobSkip(cx: PgContext, params: { id: string; reason?: string; now?: number }): Promise<Job> {
  const now = params.now ?? Date.now();
  return steer(cx, params.id, now, (_, job) => planSkip(job, { ...reasonOf(params), now }));
}

const reasonOf = (p: { reason?: string }) => (p.reason !== undefined ? { reason: p.reason } : {});

export function jobRequeue(cx: PgContext, params: { id: string; now?: number }): Promise<Job> {
  const now = params.now ?? Date.now();
  return steer(cx, params.id, now, async (c, job) => {
    const targetExists = job.target === null || (await q(c, `SELECT 1 FROM ${cx.t.targets} WHERE name = $1`, [job.target])).length > 0;
    const plan = planRequeue(job, { targetExists, deps: await depStates(cx, c, job.id), now });
    if (job.key !== null) {
      const holder = (
        await q<{ id: string }>(c, `SELECT id FROM ${cx.t.jobs} WHERE queue = $1 AND unique_key = $2 AND status IN ${ACTIVE_SQL}`, [job.queue, job.key])
      )[0];
      if (holder) throw keyHeldError(job, holder.id);
    }
    return plan;
  });
}

export function jobMove(cx: PgContext, params: { id: string; to: MoveTarget }): Promise<Job> {
  return tx(cx, async (c) => {
    const r = await mustRow(cx, c, params.id, true);
    const job = toStoredJob(r);
    checkMovable(job);
    // Moves within a queue are serialised, so two moves never pick the same gap.
    await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`runway:move:${cx.schema}:${job.queue}`]);
    const to = params.to;
    if (to === "top" || to === "bottom") {
      const position = to === "top" ? positionAtTop(r.position, await firstPosition(cx, c, r)) : nextPosition();
      return toJob(await setPosition(cx, c, job.id, position));
    }
    const before = "before" in to;
    let other = await mustRow(cx, c, before ? to.before : to.after);
    checkMoveBeside(job, toStoredJob(other));
    let position = await positionNextTo(cx, c, other, job.id, before);
    if (position === null) {
      await spreadQueue(cx, c, job.queue);
      other = await mustRow(cx, c, other.id);
      position = (await positionNextTo(cx, c, other, job.id, before))!;
    }
    return toJob(await setPosition(cx, c, job.id, position, other.priority));
  });
}

/** The lowest position among the other waiting jobs of the job's priority. */
async function firstPosition(cx: PgContext, c: Q, job: JobRow): Promise<number | null> {
  const rows = await q<{ p: number | null }>(
    c,
    `SELECT min(position) AS p FROM ${cx.t.jobs} WHERE queue = $1 AND priority = $2 AND status IN ('queued', 'scheduled', 'blocked') AND id <> $3`,
    [job.queue, job.priority, job.id],
  );
  return rows[0]!.p;
}

async function setPosition(cx: PgContext, c: Q, id: string, position: number, priority?: number): Promise<JobRow> {
  const rows =
    priority === undefined
      ? await q<JobRow>(c, `UPDATE ${cx.t.jobs} SET position = $1 WHERE id = $2 RETURNING *`, [position, id])
      : await q<JobRow>(c, `UPDATE ${cx.t.jobs} SET position = $1, priority = $2 WHERE id = $3 RETURNING *`, [position, priority, id]);
  return rows[0]!;
}

/** Beside `other` (taking its priority), or null when the gap there is too narrow to split. */
async function positionNextTo(cx: PgContext, c: Q, other: JobRow, movingId: string, before: boolean): Promise<number | null> {
  const neighbour = (
    await q<{ p: number | null }>(
      c,
      before
        ? `SELECT max(position) AS p FROM ${cx.t.jobs} WHERE queue = $1 AND priority = $2 AND position < $3 AND id <> $4`
        : `SELECT min(position) AS p FROM ${cx.t.jobs} WHERE queue = $1 AND priority = $2 AND position > $3 AND id <> $4`,
      [other.queue, other.priority, other.position, movingId],
    )
  )[0]!.p;
  return positionBeside(other.position, neighbour, before);
}

/** Spreads the queue's waiting jobs out, keeping their order, so there is room between any two. */
async function spreadQueue(cx: PgContext, c: Q, queue: string): Promise<void> {
  const rows = await q<{ id: string; position: number }>(
    c,
    `SELECT id, position FROM ${cx.t.jobs} WHERE queue = $1 AND status IN ('queued', 'scheduled', 'blocked') ORDER BY position, id`,
    [queue],
  );
  if (rows.length < 2) return;
  await c.query(`UPDATE ${cx.t.jobs} j SET position = v.p FROM unnest($1::text[], $2::float8[]) AS v(id, p) WHERE j.id = v.id`, [
    rows.map((r) => r.id),
    spreadPositions(rows.map((r) => r.position)),
  ]);
}
