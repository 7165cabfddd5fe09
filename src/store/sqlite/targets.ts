/** Remote targets and escalation rules: the named things jobs are sent to. */
import { assertEscalationRule, targetBusyError, targetExistsError } from "../../core/checks.js";
import type { EscalationRule, JobStatus } from "../../core/job.js";
import { type Target, type TargetSpec, checkTarget } from "../../core/target.js";
import { type TargetRow, toTarget } from "../rows.js";
import { ACTIVE_SQL } from "../shared.js";
import type { SqliteContext } from "./context.js";

export function targetSet(cx: SqliteContext, params: { target: TargetSpec; replace?: boolean; now?: number }): Target {
  const t = checkTarget(params.target);
  const now = params.now ?? Date.now();
  return cx.write(() => {
    if (!params.replace && cx.targetExists(t.name)) throw targetExistsError(t.name);
    // A replaced target keeps its creation time and last report: it is the same server, re-described.
    const row = cx.stmt(
      `INSERT INTO targets (name, host, port, identity, dir, sync, excludes, concurrency, created_at)
       VALUES (@name, @host, @port, @identity, @dir, @sync, @excludes, @concurrency, @now)
       ON CONFLICT (name) DO UPDATE SET host = excluded.host, port = excluded.port, identity = excluded.identity,
         dir = excluded.dir, sync = excluded.sync, excludes = excluded.excludes, concurrency = excluded.concurrency
       RETURNING *`,
    ).get({ ...t, excludes: JSON.stringify(t.excludes), now }) as TargetRow;
    return toTarget(row);
  });
}

export function targetGet(cx: SqliteContext, params: { name: string }): Target | null {
  const r = cx.stmt("SELECT * FROM targets WHERE name = ?").get(params.name) as TargetRow | undefined;
  return r ? toTarget(r) : null;
}

export function targetList(cx: SqliteContext): Target[] {
  return (cx.stmt("SELECT * FROM targets ORDER BY name").all() as TargetRow[]).map(toTarget);
}

export function targetRemove(cx: SqliteContext, params: { name: string }): boolean {
  return cx.write(() => {
    const active = cx.stmt(`SELECT count(*) FROM jobs WHERE target = ? AND status IN ${ACTIVE_SQL}`).pluck().get(params.name) as number;
    if (active > 0) throw targetBusyError(params.name, active);
    return cx.stmt("DELETE FROM targets WHERE name = ?").run(params.name).changes > 0;
  });
}

export function targetReport(cx: SqliteContext, params: { name: string; reachable: boolean; message: string | null; now?: number }): void {
  cx.write(() => {
    cx.stmt("UPDATE targets SET reachable = ?, message = ?, checked_at = ? WHERE name = ?").run(
      params.reachable ? 1 : 0,
      params.message,
      params.now ?? Date.now(),
      params.name,
    );
  }, false);
}

export function targetCounts(cx: SqliteContext): Record<string, Partial<Record<JobStatus, number>>> {
  const rows = cx.stmt(
    `SELECT target, status, count(*) AS n FROM jobs WHERE target IS NOT NULL AND status IN ${ACTIVE_SQL} GROUP BY target, status`,
  ).all() as { target: string; status: JobStatus; n: number }[];
  const out: Record<string, Partial<Record<JobStatus, number>>> = {};
  for (const r of rows) (out[r.target] ??= {})[r.status] = r.n;
  return out;
}

export function escalationSet(cx: SqliteContext, params: { rule: EscalationRule }): void {
  const r = params.rule;
  assertEscalationRule(r);
  cx.write(() => {
    cx.stmt(
      `INSERT INTO escalation_rules (queue, kind, after, to_queue, to_kind) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (queue, kind) DO UPDATE SET after = excluded.after, to_queue = excluded.to_queue, to_kind = excluded.to_kind`,
    ).run(r.queue ?? "", r.kind ?? "", r.after, r.toQueue, r.toKind);
  }, false);
}

export function escalationList(cx: SqliteContext): EscalationRule[] {
  return cx.rules();
}

export function escalationRemove(cx: SqliteContext, params: { queue: string | null; kind: string | null }): boolean {
  return cx.write(
    () => cx.stmt("DELETE FROM escalation_rules WHERE queue = ? AND kind = ?").run(params.queue ?? "", params.kind ?? "").changes > 0,
    false,
  );
}
