/** Upkeep the database does not do soon enough by itself (VACUUM, ANALYZE), and pruning old jobs. */
import { type PgContext, exec, q, tx, withClient } from "./context.js";

/**
 * The claim's plan rests on the table's statistics. A table filled fast (a bulk load, a burst)
 * outgrows them long before autovacuum's next look (a minute or more), and the planner, told a
 * queue holds a handful of rows, sorts all of them for every claim: 100,000 waiting jobs made a
 * claim of 500 take 100 ms instead of 2. So once the jobs added since the last look pass a fifth
 * of the table (and 10,000), this process refreshes the statistics itself, in the background.
 */
export function noteAdded(cx: PgContext, n: number): void {
  const s = cx.state;
  s.addedSinceAnalyze += n;
  if (s.analyzing || s.addedSinceAnalyze < Math.max(10_000, s.rowsAtAnalyze / 5)) return;
  s.analyzing = true;
  const added = s.addedSinceAnalyze;
  s.addedSinceAnalyze = 0;
  void exec<{ n: number }>(cx, `ANALYZE ${cx.t.jobs}`)
    .then(() => exec<{ n: number }>(cx, "SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass", [cx.t.jobs]))
    .then((r) => (s.rowsAtAnalyze = Math.max(0, Number(r[0]?.n ?? 0))))
    .catch(() => (s.addedSinceAnalyze += added))
    .finally(() => (s.analyzing = false));
}

/**
 * Vacuums the jobs table every few seconds, one worker at a time (an advisory lock; the others
 * skip). Every job leaves two dead row versions behind (claimed, then finished); autovacuum
 * wakes at most once a minute by default, and in a two-minute add-and-drain run the dead rows
 * at the head of the claim index cut the drain from 15,000 to 5,000 jobs/s. Vacuumed every
 * 5 s it held at 13,500.
 */
export async function storeMaintain(cx: PgContext, params: { now?: number }): Promise<void> {
  const now = params.now ?? Date.now();
  if (now - cx.state.lastVacuum < 5000) return;
  cx.state.lastVacuum = now;
  const key = `runway:vacuum:${cx.schema}`;
  await withClient(cx, async (client) => {
    const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [key]);
    if (!got.rows[0]?.ok) return;
    try {
      await client.query(`VACUUM ${cx.t.jobs}`);
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
    }
  });
}

/** Deletes jobs that finished before the cutoff, with their history, a thousand per transaction. */
export async function jobPrune(cx: PgContext, params: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }> {
  const now = params.now ?? Date.now();
  const cutoff = now - params.olderThanMs;
  let deleted = 0;
  for (;;) {
    const n = await tx(
      cx,
      async (c) => {
        const ids = (
          await q<{ id: string }>(
            c,
            `SELECT id FROM ${cx.t.jobs} WHERE finished_at IS NOT NULL AND finished_at < $1
               AND status IN ('completed', 'failed', 'cancelled', 'skipped') ${params.queue ? "AND queue = $2" : ""}
             LIMIT 1000 FOR UPDATE SKIP LOCKED`,
            params.queue ? [cutoff, params.queue] : [cutoff],
          )
        ).map((r) => r.id);
        if (ids.length === 0) return 0;
        for (const table of [cx.t.job_deps, cx.t.job_attempts, cx.t.job_logs]) {
          await c.query(`DELETE FROM ${table} WHERE job_id = ANY($1::text[])`, [ids]);
        }
        return (await c.query(`DELETE FROM ${cx.t.jobs} WHERE id = ANY($1::text[])`, [ids])).rowCount ?? 0;
      },
      { notify: false },
    );
    deleted += n;
    if (n < 1000) break;
  }
  return { deleted };
}
