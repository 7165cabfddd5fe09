/** Cron schedules: each due tick fires once, whichever process looks first. */
import { type CronSchedule, type CronSpec, cronJob, followingTick, prepareCron } from "../../core/cron.js";
import type { Job } from "../../core/job.js";
import type { NewJob } from "../../core/spec.js";
import { type CronRow, toCron } from "../rows.js";
import { addInTransaction } from "./add.js";
import type { SqliteContext } from "./context.js";

export function cronSet(cx: SqliteContext, params: { schedule: CronSpec; now?: number }): CronSchedule {
  const now = params.now ?? Date.now();
  const c = prepareCron(params.schedule, now);
  const row = cx.write(
    () =>
      cx.stmt(
        `INSERT INTO cron_schedules (name, pattern, timezone, queue, kind, payload, priority, next_at, created_at)
         VALUES (@name, @pattern, @timezone, @queue, @kind, @payload, @priority, @next_at, @now)
         ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, timezone = excluded.timezone, queue = excluded.queue,
           kind = excluded.kind, payload = excluded.payload, priority = excluded.priority, next_at = excluded.next_at
         RETURNING *`,
      ).get({
        name: c.name, pattern: c.pattern, timezone: c.timezone, queue: c.queue, kind: c.kind,
        payload: c.payloadJson, priority: c.priority, next_at: c.nextAt, now,
      }) as CronRow,
    false,
  );
  return toCron(row);
}

export function cronList(cx: SqliteContext): CronSchedule[] {
  return (cx.stmt("SELECT * FROM cron_schedules ORDER BY name").all() as CronRow[]).map(toCron);
}

export function cronRemove(cx: SqliteContext, params: { name: string }): boolean {
  return cx.write(() => cx.stmt("DELETE FROM cron_schedules WHERE name = ?").run(params.name).changes > 0, false);
}

export function cronFire(cx: SqliteContext, params: { now?: number }): Job[] {
  const now = params.now ?? Date.now();
  const dueSql = "SELECT * FROM cron_schedules WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at, name";
  // Most calls find nothing due: a read, so the write lock is taken only when there is a tick to fire.
  if (cx.stmt(`${dueSql} LIMIT 1`).get(now) === undefined) return [];
  const added = cx.write(() => {
    // Under the write lock another process's fire has either committed (and moved next_at on,
    // so the row is no longer due here) or not started: a tick is seen as due by one of them only.
    const due = cx.stmt(dueSql).all(now) as CronRow[];
    const jobs: NewJob[] = [];
    for (const s of due) {
      const moved = cx.stmt("UPDATE cron_schedules SET next_at = ? WHERE name = ? AND next_at = ?").run(followingTick(s, now), s.name, s.next_at);
      if (moved.changes > 0) jobs.push(cronJob({ ...s, payloadJson: s.payload }, s.next_at!, now));
    }
    return addInTransaction(cx, jobs, now);
  }, false);
  const jobs = added.filter((r) => r.created).map((r) => r.job);
  if (jobs.length > 0) cx.feed.notify();
  return jobs;
}
