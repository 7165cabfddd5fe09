/** Steering a job that is not running for you: cancel, skip, requeue, move. Core decides; this applies. */
import type { Job } from "../../core/job.js";
import {
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
import { appliedJob, depStates } from "./apply.js";
import type { SqliteContext } from "./context.js";

export function jobCancel(cx: SqliteContext, params: { id: string; reason?: string; now?: number }): Job {
  const now = params.now ?? Date.now();
  return cx.write(() => appliedJob(cx, planCancel(toStoredJob(cx.mustRow(params.id)), { ...optionalReason(params), now }), now));
}

export function jobSkip(cx: SqliteContext, params: { id: string; reason?: string; now?: number }): Job {
  const now = params.now ?? Date.now();
  return cx.write(() => appliedJob(cx, planSkip(toStoredJob(cx.mustRow(params.id)), { ...optionalReason(params), now }), now));
}

function optionalReason(p: { reason?: string }): { reason?: string } {
  return p.reason !== undefined ? { reason: p.reason } : {};
}

export function jobRequeue(cx: SqliteContext, params: { id: string; now?: number }): Job {
  const now = params.now ?? Date.now();
  return cx.write(() => {
    const job = toStoredJob(cx.mustRow(params.id));
    const targetExists = job.target === null || cx.targetExists(job.target);
    const plan = planRequeue(job, { targetExists, deps: depStates(cx, job.id), now });
    try {
      return appliedJob(cx, plan, now);
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_CONSTRAINT_UNIQUE") throw err;
      const holder = cx.stmt(`SELECT id FROM jobs WHERE queue = ? AND unique_key = ? AND status IN ${ACTIVE_SQL}`).pluck().get(job.queue, job.key);
      throw keyHeldError(job, (holder as string | undefined) ?? null);
    }
  });
}

export function jobMove(cx: SqliteContext, params: { id: string; to: MoveTarget }): Job {
  return cx.write(() => {
    const r = cx.mustRow(params.id);
    checkMovable(toStoredJob(r));
    const to = params.to;
    if (to === "top" || to === "bottom") return toJob(setPosition(cx, r.id, to === "top" ? topPosition(cx, r) : nextPosition(), r.priority));
    const before = "before" in to;
    const other = cx.mustRow(before ? to.before : (to as { after: string }).after);
    checkMoveBeside(toStoredJob(r), toStoredJob(other));
    // The moved job takes the other job's priority, so it really runs right before or after it.
    let position = besidePosition(cx, other, r.id, before);
    if (position === null) {
      spreadQueue(cx, r.queue);
      position = besidePosition(cx, cx.mustRow(other.id), r.id, before)!;
    }
    return toJob(setPosition(cx, r.id, position, other.priority));
  });
}

function setPosition(cx: SqliteContext, id: string, position: number, priority: number): JobRow {
  return cx.stmt("UPDATE jobs SET position = ?, priority = ? WHERE id = ? RETURNING *").get(position, priority, id) as JobRow;
}

function topPosition(cx: SqliteContext, r: JobRow): number {
  const first = cx
    .stmt("SELECT min(position) FROM jobs WHERE queue = ? AND priority = ? AND status IN ('queued', 'scheduled', 'blocked') AND id <> ?")
    .pluck()
    .get(r.queue, r.priority, r.id) as number | null;
  return positionAtTop(r.position, first);
}

function besidePosition(cx: SqliteContext, other: JobRow, movingId: string, before: boolean): number | null {
  const neighbour = cx
    .stmt(
      before
        ? "SELECT max(position) FROM jobs WHERE queue = ? AND priority = ? AND position < ? AND id <> ?"
        : "SELECT min(position) FROM jobs WHERE queue = ? AND priority = ? AND position > ? AND id <> ?",
    )
    .pluck()
    .get(other.queue, other.priority, other.position, movingId) as number | null;
  return positionBeside(other.position, neighbour, before);
}

/** Spreads the waiting jobs of a queue evenly, keeping their order, when one gap has been split too often. */
function spreadQueue(cx: SqliteContext, queue: string): void {
  const rows = cx
    .stmt("SELECT id, position FROM jobs WHERE queue = ? AND status IN ('queued', 'scheduled', 'blocked') ORDER BY position, id")
    .all(queue) as { id: string; position: number }[];
  const positions = spreadPositions(rows.map((r) => r.position));
  const upd = cx.stmt("UPDATE jobs SET position = ? WHERE id = ?");
  rows.forEach((r, i) => upd.run(positions[i], r.id));
}
