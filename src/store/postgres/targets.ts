/** Targets (remote hosts jobs run on) and escalation rules (where failing jobs go). */
import { assertEscalationRule, targetBusyError, targetExistsError } from "../../core/checks.js";
import type { EscalationRule, JobStatus } from "../../core/job.js";
import { type Target, type TargetSpec, checkTarget } from "../../core/target.js";
import { type TargetRow, toTarget } from "../rows.js";
import { ACTIVE_SQL } from "../shared.js";
import { type PgContext, exec, loadRules, q, read, tx } from "./context.js";

export async function targetSet(cx: PgContext, params: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target> {
  const t = checkTarget(params.target);
  const now = params.now ?? Date.now();
  const rows = await exec<TargetRow>(
    cx,
    `INSERT INTO ${cx.t.targets} (name, host, port, identity, dir, sync, excludes, concurrency, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (name) DO ${params.replace ? `UPDATE SET host = excluded.host, port = excluded.port, identity = excluded.identity,
       dir = excluded.dir, sync = excluded.sync, excludes = excluded.excludes, concurrency = excluded.concurrency` : "NOTHING"}
     RETURNING *`,
    [t.name, t.host, t.port, t.identity, t.dir, t.sync, JSON.stringify(t.excludes), t.concurrency, now],
  );
  if (rows.length === 0) throw targetExistsError(t.name);
  return toTarget(rows[0]!);
}

export async function targetGet(cx: PgContext, params: { name: string }): Promise<Target | null> {
  const rows = await exec<TargetRow>(cx, `SELECT * FROM ${cx.t.targets} WHERE name = $1`, [params.name]);
  return rows[0] ? toTarget(rows[0]) : null;
}

export async function targetList(cx: PgContext): Promise<Target[]> {
  return (await exec<TargetRow>(cx, `SELECT * FROM ${cx.t.targets} ORDER BY name`)).map(toTarget);
}

export async function targetRemove(cx: PgContext, params: { name: string }): Promise<boolean> {
  return tx(cx, async (c) => {
    // The row lock keeps a job from being added to the target while it goes.
    const found = await q(c, `SELECT 1 FROM ${cx.t.targets} WHERE name = $1 FOR UPDATE`, [params.name]);
    if (found.length === 0) return false;
    const active = (await q<{ n: number }>(c, `SELECT count(*)::int AS n FROM ${cx.t.jobs} WHERE target = $1 AND status IN ${ACTIVE_SQL}`, [params.name]))[0]!.n;
    if (active > 0) throw targetBusyError(params.name, active);
    await c.query(`DELETE FROM ${cx.t.targets} WHERE name = $1`, [params.name]);
    return true;
  });
}

export async function targetReport(cx: PgContext, params: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void> {
  await exec(cx, `UPDATE ${cx.t.targets} SET reachable = $1, message = $2, checked_at = $3 WHERE name = $4`, [
    params.reachable,
    params.message,
    params.now ?? Date.now(),
    params.name,
  ]);
}

export async function targetCounts(cx: PgContext): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
  const rows = await exec<{ target: string; status: JobStatus; n: number }>(
    cx,
    `SELECT target, status, count(*)::int AS n FROM ${cx.t.jobs} WHERE target IS NOT NULL AND status IN ${ACTIVE_SQL} GROUP BY target, status`,
  );
  const out: Record<string, Partial<Record<JobStatus, number>>> = {};
  for (const r of rows) (out[r.target] ??= {})[r.status] = r.n;
  return out;
}

export async function escalationSet(cx: PgContext, params: { rule: EscalationRule }): Promise<void> {
  const r = params.rule;
  assertEscalationRule(r);
  await tx(
    cx,
    (c) =>
      c.query(
        `INSERT INTO ${cx.t.escalation_rules} (queue, kind, after, to_queue, to_kind) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (queue, kind) DO UPDATE SET after = excluded.after, to_queue = excluded.to_queue, to_kind = excluded.to_kind`,
        [r.queue ?? "", r.kind ?? "", r.after, r.toQueue, r.toKind],
      ),
    { notify: false },
  );
}

export async function escalationList(cx: PgContext): Promise<EscalationRule[]> {
  return read(cx, (c) => loadRules(cx, c));
}

/** '' stands for "any" in the table (see toRule). */
export async function escalationRemove(cx: PgContext, params: { queue: string | null; kind: string | null }): Promise<boolean> {
  return tx(
    cx,
    async (c) => ((await c.query(`DELETE FROM ${cx.t.escalation_rules} WHERE queue = $1 AND kind = $2`, [params.queue ?? "", params.kind ?? ""])).rowCount ?? 0) > 0,
    { notify: false },
  );
}
