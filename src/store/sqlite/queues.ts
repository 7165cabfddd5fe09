/** Queues: created with their first job; state, concurrency, counts and drained. */
import { assertConcurrency, assertQueueState } from "../../core/checks.js";
import { JOB_STATUSES, type JobStatus, type QueueInfo, type QueueState } from "../../core/job.js";
import { assertName } from "../../core/spec.js";
import { percentile } from "../../core/stats.js";
import { type QueueRow, toQueue } from "../rows.js";
import type { QueueStats } from "../store.js";
import type { SqliteContext } from "./context.js";

export function queueEnsure(cx: SqliteContext, params: { queue: string; concurrency?: number | null; state?: QueueState }): QueueInfo {
  assertName(params.queue, "queue");
  if (params.concurrency !== undefined) assertConcurrency(params.concurrency);
  return cx.write(() => {
    cx.stmt("INSERT INTO queues (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(
      params.queue,
      Date.now(),
    );
    if (params.concurrency !== undefined) {
      cx.stmt("UPDATE queues SET concurrency = ? WHERE name = ?").run(params.concurrency, params.queue);
    }
    if (params.state !== undefined) setState(cx, params.queue, params.state);
    return toQueue(cx.mustQueue(params.queue));
  });
}

export function queueGet(cx: SqliteContext, params: { queue: string }): QueueInfo | null {
  const q = cx.stmt("SELECT * FROM queues WHERE name = ?").get(params.queue) as QueueRow | undefined;
  return q ? toQueue(q) : null;
}

export function queueList(cx: SqliteContext): QueueInfo[] {
  return (cx.stmt("SELECT * FROM queues ORDER BY name").all() as QueueRow[]).map(toQueue);
}

export function queueSetState(cx: SqliteContext, params: { queue: string; state: QueueState }): QueueInfo {
  assertQueueState(params.state);
  return cx.write(() => {
    cx.mustQueue(params.queue);
    setState(cx, params.queue, params.state);
    return toQueue(cx.mustQueue(params.queue));
  });
}

function setState(cx: SqliteContext, queue: string, state: QueueState): void {
  cx.stmt("UPDATE queues SET state = ? WHERE name = ?").run(state, queue);
  if (state === "stopped") {
    // Running attempts are asked to stop; their workers put the jobs back in the queue.
    cx.stmt(
      "UPDATE jobs SET abort_requested = 'requeue' WHERE queue = ? AND status = 'running' AND abort_requested IS NULL",
    ).run(queue);
  }
}

export function queueSetConcurrency(cx: SqliteContext, params: { queue: string; concurrency: number | null }): QueueInfo {
  assertConcurrency(params.concurrency);
  return cx.write(() => {
    cx.mustQueue(params.queue);
    cx.stmt("UPDATE queues SET concurrency = ? WHERE name = ?").run(params.concurrency, params.queue);
    return toQueue(cx.mustQueue(params.queue));
  });
}

export function queueStats(cx: SqliteContext, params: { queue?: string; now?: number }): QueueStats[] {
  const now = params.now ?? Date.now();
  const queues = params.queue ? [cx.mustQueue(params.queue)] : (cx.stmt("SELECT * FROM queues ORDER BY name").all() as QueueRow[]);
  return queues.map((q) => {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    // Each phase is counted from its own partial index.
    const rows = cx.stmt(
      `SELECT 'queued' AS status, count(*) AS n FROM jobs WHERE queue = @queue AND status = 'queued'
       UNION ALL SELECT 'running', count(*) FROM jobs WHERE queue = @queue AND status = 'running'
       UNION ALL SELECT status, count(*) FROM jobs WHERE queue = @queue AND status IN ('scheduled', 'blocked') GROUP BY status
       UNION ALL SELECT status, count(*) FROM jobs WHERE queue = @queue AND finished_at IS NOT NULL GROUP BY status`,
    ).all({ queue: q.name }) as { status: JobStatus; n: number }[];
    for (const c of rows) counts[c.status] += c.n;
    const durations = (
      cx.stmt(
        `SELECT finished_at - started_at FROM jobs WHERE queue = ? AND finished_at IS NOT NULL AND status = 'completed'
         ORDER BY finished_at DESC LIMIT 1000`,
      )
        .pluck()
        .all(q.name) as number[]
    ).sort((a, b) => a - b);
    const completedLastMinute = cx.stmt(
      "SELECT count(*) FROM jobs WHERE queue = ? AND finished_at >= ? AND status = 'completed'",
    )
      .pluck()
      .get(q.name, now - 60_000) as number;
    return {
      queue: q.name,
      state: q.state,
      concurrency: q.concurrency,
      counts,
      durationP50Ms: percentile(durations, 50),
      durationP95Ms: percentile(durations, 95),
      completedLastMinute,
    };
  });
}

export function queueIsDrained(cx: SqliteContext, params: { queue: string }): boolean {
  // One probe per partial index: constant time however deep the queue is.
  return (
    cx.stmt(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status = 'queued')
           OR EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status = 'running')
           OR EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status IN ('scheduled', 'blocked'))`,
    )
      .pluck()
      .get({ queue: params.queue }) === 0
  );
}
