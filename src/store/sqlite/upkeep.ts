/**
 * Upkeep. SQLite needs little: WAL checkpoints run on a thread of their own (checkpointer.ts) and
 * freed pages are reused by SQLite itself. What is left is pruning finished jobs, in chunks.
 */
import type { SqliteContext } from "./context.js";

export function jobPrune(cx: SqliteContext, params: { olderThanMs: number; queue?: string; now?: number }): { deleted: number } {
  const now = params.now ?? Date.now();
  const cutoff = now - params.olderThanMs;
  let deleted = 0;
  // In chunks, so a prune of a million rows never holds the write lock for long.
  for (;;) {
    const n = cx.write(() => {
      const ids = cx.stmt(
        `SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < @cutoff
           AND status IN ('completed', 'failed', 'cancelled', 'skipped') ${params.queue ? "AND queue = @queue" : ""}
         LIMIT 1000`,
      )
        .pluck()
        .all({ cutoff, ...(params.queue ? { queue: params.queue } : {}) }) as string[];
      if (ids.length === 0) return 0;
      const list = JSON.stringify(ids);
      for (const table of ["job_deps", "job_attempts", "job_logs"]) {
        cx.db.prepare(`DELETE FROM ${table} WHERE job_id IN (SELECT value FROM json_each(?))`).run(list);
      }
      return cx.stmt("DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))").run(list).changes;
    }, false);
    deleted += n;
    if (n < 1000) break;
  }
  return { deleted };
}
