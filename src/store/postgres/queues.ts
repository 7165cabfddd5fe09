/** Queues: their state and limit, their statistics, and whether one has drained. */
import { assertConcurrency, assertQueueState } from "../../core/checks.js";
import { JOB_STATUSES, type JobStatus, type QueueInfo, type QueueState } from "../../core/job.js";
import { assertName } from "../../core/spec.js";
import { percentile } from "../../core/stats.js";
import { type QueueRow, toQueue } from "../rows.js";
import type { QueueStats } from "../store.js";
import { type PgContext, type Q, ensureQueues, mustQueue, q, read, tx } from "./context.js";

export async function queueEnsure(cx: PgContext, params: { queue: string; concurrency?: number | null; state?: QueueState }): Promise<QueueInfo> {
  assertName(params.queue, "queue");
  if (params.concurrency !== undefined) assertConcurrency(params.concurrency);
  return tx(cx, async (c) => {
    await ensureQueues(cx, c, [params.queue], Date.now());
    if (params.concurrency !== undefined) {
      await c.query(`UPDATE ${cx.t.queues} SET concurrency = $1 WHERE name = $2`, [params.concurrency, params.queue]);
    }
    if (params.state !== undefined) await setState(cx, c, params.queue, params.state);
    return toQueue(await mustQueue(cx, c, params.queue));
  });
}

export async function queueGet(cx: PgContext, params: { queue: string }): Promise<QueueInfo | null> {
  return read(cx, async (c) => {
    const found = (await q<QueueRow>(c, `SELECT * FROM ${cx.t.queues} WHERE name = $1`, [params.queue]))[0];
    return found ? toQueue(found) : null;
  });
}

export async function queueList(cx: PgContext): Promise<QueueInfo[]> {
  return read(cx, async (c) => (await q<QueueRow>(c, `SELECT * FROM ${cx.t.queues} ORDER BY name`)).map(toQueue));
}

export async function queueSetState(cx: PgContext, params: { queue: string; state: QueueState }): Promise<QueueInfo> {
  assertQueueState(params.state);
  return tx(cx, async (c) => {
    await mustQueue(cx, c, params.queue);
    await setState(cx, c, params.queue, params.state);
    return toQueue(await mustQueue(cx, c, params.queue));
  });
}

/** A stopped queue asks its running attempts to come back: their workers put them back in the queue. */
async function setState(cx: PgContext, c: Q, queue: string, state: QueueState): Promise<void> {
  await c.query(`UPDATE ${cx.t.queues} SET state = $1 WHERE name = $2`, [state, queue]);
  if (state === "stopped") {
    await c.query(`UPDATE ${cx.t.jobs} SET abort_requested = 'requeue' WHERE queue = $1 AND status = 'running' AND abort_requested IS NULL`, [queue]);
  }
}

export async function queueSetConcurrency(cx: PgContext, params: { queue: string; concurrency: number | null }): Promise<QueueInfo> {
  assertConcurrency(params.concurrency);
  return tx(cx, async (c) => {
    await mustQueue(cx, c, params.queue);
    await c.query(`UPDATE ${cx.t.queues} SET concurrency = $1 WHERE name = $2`, [params.concurrency, params.queue]);
    return toQueue(await mustQueue(cx, c, params.queue));
  });
}

export async function queueStats(cx: PgContext, params: { queue?: string; now?: number }): Promise<QueueStats[]> {
  const now = params.now ?? Date.now();
  return read(cx, async (c) => {
    const queues = params.queue ? [await mustQueue(cx, c, params.queue)] : await q<QueueRow>(c, `SELECT * FROM ${cx.t.queues} ORDER BY name`);
    const out: QueueStats[] = [];
    for (const queue of queues) out.push(await statsOf(cx, c, queue, now));
    return out;
  });
}

async function statsOf(cx: PgContext, c: Q, queue: QueueRow, now: number): Promise<QueueStats> {
  const jobs = cx.t.jobs;
  const counts = Object.fromEntries(JOB_STATUSES.map((st) => [st, 0])) as Record<JobStatus, number>;
  // One branch per partial index, so each count is read from the index that holds its status.
  const rows = await q<{ status: JobStatus; n: number }>(
    c,
    `SELECT 'queued' AS status, count(*)::int AS n FROM ${jobs} WHERE queue = $1 AND status = 'queued'
     UNION ALL SELECT 'running', count(*)::int FROM ${jobs} WHERE queue = $1 AND status = 'running'
     UNION ALL SELECT status, count(*)::int FROM ${jobs} WHERE queue = $1 AND status IN ('scheduled', 'blocked') GROUP BY status
     UNION ALL SELECT status, count(*)::int FROM ${jobs} WHERE queue = $1 AND finished_at IS NOT NULL GROUP BY status`,
    [queue.name],
  );
  for (const r of rows) counts[r.status] += Number(r.n);
  const durations = (
    await q<{ d: number }>(
      c,
      `SELECT finished_at - started_at AS d FROM ${jobs} WHERE queue = $1 AND finished_at IS NOT NULL AND status = 'completed'
       ORDER BY finished_at DESC LIMIT 1000`,
      [queue.name],
    )
  )
    .map((r) => Number(r.d))
    .sort((a, b) => a - b);
  const recent = await q<{ n: number }>(
    c,
    `SELECT count(*)::int AS n FROM ${jobs} WHERE queue = $1 AND finished_at >= $2 AND status = 'completed'`,
    [queue.name, now - 60_000],
  );
  return {
    queue: queue.name,
    state: queue.state,
    concurrency: queue.concurrency,
    counts,
    durationP50Ms: percentile(durations, 50),
    durationP95Ms: percentile(durations, 95),
    completedLastMinute: Number(recent[0]!.n),
  };
}

export async function queueIsDrained(cx: PgContext, params: { queue: string }): Promise<boolean> {
  return read(cx, async (c) => {
    const r = await q<{ busy: boolean }>(
      c,
      `SELECT EXISTS (SELECT 1 FROM ${cx.t.jobs} WHERE queue = $1 AND status = 'queued')
           OR EXISTS (SELECT 1 FROM ${cx.t.jobs} WHERE queue = $1 AND status = 'running')
           OR EXISTS (SELECT 1 FROM ${cx.t.jobs} WHERE queue = $1 AND status IN ('scheduled', 'blocked')) AS busy`,
      [params.queue],
    );
    return !r[0]!.busy;
  });
}
