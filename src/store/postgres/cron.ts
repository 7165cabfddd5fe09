/** Cron schedules, and firing their due ticks as jobs exactly once across every process. */
import { type CronSchedule, type CronSpec, cronJob, followingTick, prepareCron } from "../../core/cron.js";
import type { Job } from "../../core/job.js";
import { type CronRow, toCron } from "../rows.js";
import { addInTransaction } from "./add.js";
import { type PgContext, exec, q, tx } from "./context.js";

export async function cronSet(cx: PgContext, params: { schedule: CronSpec; now?: number }): Promise<CronSchedule> {
  const now = params.now ?? Date.now();
  const c = prepareCron(params.schedule, now);
  const rows = await exec<CronRow>(
    cx,
    `INSERT INTO ${cx.t.cron_schedules} (name, pattern, timezone, queue, kind, payload, priority, next_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, timezone = excluded.timezone, queue = excluded.queue,
       kind = excluded.kind, payload = excluded.payload, priority = excluded.priority, next_at = excluded.next_at
     RETURNING *`,
    [c.name, c.pattern, c.timezone, c.queue, c.kind, c.payloadJson, c.priority, c.nextAt, now],
  );
  return toCron(rows[0]!);
}

export async function cronList(cx: PgContext): Promise<CronSchedule[]> {
  return (await exec<CronRow>(cx, `SELECT * FROM ${cx.t.cron_schedules} ORDER BY name`)).map(toCron);
}

export async function cronRemove(cx: PgContext, params: { name: string }): Promise<boolean> {
  return (await exec<{ name: string }>(cx, `DELETE FROM ${cx.t.cron_schedules} WHERE name = $1 RETURNING name`, [params.name])).length > 0;
}

export async function cronFire(cx: PgContext, params: { now?: number }): Promise<Job[]> {
  const now = params.now ?? Date.now();
  // Every worker asks every second and most of the time nothing is due: one read, no transaction.
  const probe = await exec<{ due: boolean }>(cx, `SELECT EXISTS (SELECT 1 FROM ${cx.t.cron_schedules} WHERE next_at <= $1) AS due`, [now], "cron-due");
  if (!probe[0]?.due) return [];
  const added = await tx(
    cx,
    async (c, wake) => {
      // A row another transaction is firing is skipped; one it has fired is re-read after its
      // commit, no longer due. Either way each tick is taken by one transaction only.
      const due = await q<CronRow>(c, `SELECT * FROM ${cx.t.cron_schedules} WHERE next_at <= $1 ORDER BY next_at, name FOR UPDATE SKIP LOCKED`, [now]);
      if (due.length === 0) return [];
      // Guarded on the tick read: a tick is fired only by the transaction that moves next_at off it.
      const moved = new Set(
        (
          await q<{ name: string }>(
            c,
            `UPDATE ${cx.t.cron_schedules} s SET next_at = v.next FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(name, tick, next)
             WHERE s.name = v.name AND s.next_at = v.tick RETURNING s.name`,
            [due.map((s) => s.name), due.map((s) => s.next_at), due.map((s) => followingTick(s, now))],
          )
        ).map((r) => r.name),
      );
      const jobs = due.filter((s) => moved.has(s.name)).map((s) => cronJob({ ...s, payloadJson: s.payload }, s.next_at!, now));
      if (jobs.length === 0) return [];
      const results = await addInTransaction(cx, c, jobs, now);
      if (results.some((r) => r.created)) wake();
      return results;
    },
    { notify: "ask" },
  );
  return added.filter((r) => r.created).map((r) => r.job);
}
