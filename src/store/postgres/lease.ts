/** What a lease holder writes while its attempt runs: heartbeats, progress, its run on a target, log lines. */
import type { RemoteRun } from "../../core/job.js";
import { encodePayload } from "../../core/spec.js";
import type { Lease, LeaseStatus, LogLine } from "../store.js";
import { type PgContext, exec, q, read, stillRunning } from "./context.js";

type LeaseRow = { id: string; abort_requested: LeaseStatus["abort"] };

export async function jobHeartbeat(cx: PgContext, params: { leases: Lease[]; leaseMs: number; now?: number }): Promise<LeaseStatus[]> {
  const now = params.now ?? Date.now();
  if (params.leases.length === 0) return [];
  const rows = await exec<LeaseRow>(
    cx,
    `UPDATE ${cx.t.jobs} j SET lease_expires_at = $3
     FROM unnest($1::text[], $2::bigint[]) AS l(id, token)
     WHERE j.id = l.id AND j.lease_token = l.token AND ${stillRunning("j")}
     RETURNING j.id, j.abort_requested`,
    [params.leases.map((l) => l.id), params.leases.map((l) => l.token), now + params.leaseMs],
  );
  return leaseStatuses(params.leases, rows);
}

export async function jobLeaseCheck(cx: PgContext, params: { leases: Lease[] }): Promise<LeaseStatus[]> {
  if (params.leases.length === 0) return [];
  return read(cx, async (c) => {
    const rows = await q<LeaseRow>(
      c,
      `SELECT j.id, j.abort_requested FROM ${cx.t.jobs} j
       JOIN unnest($1::text[], $2::bigint[]) AS l(id, token) ON j.id = l.id AND j.lease_token = l.token
       WHERE j.status = 'running'`,
      [params.leases.map((l) => l.id), params.leases.map((l) => l.token)],
    );
    return leaseStatuses(params.leases, rows);
  });
}

function leaseStatuses(leases: Lease[], rows: LeaseRow[]): LeaseStatus[] {
  const byId = new Map(rows.map((r) => [r.id, r.abort_requested]));
  return leases.map((l) => ({ id: l.id, ok: byId.has(l.id), abort: byId.get(l.id) ?? null }));
}

export async function jobProgress(cx: PgContext, params: { id: string; token: number; progress: unknown }): Promise<boolean> {
  const json = encodePayload(params.progress, "progress");
  const rows = await exec(
    cx,
    `UPDATE ${cx.t.jobs} SET progress = $1 WHERE id = $2 AND lease_token = $3 AND ${stillRunning()} RETURNING 1`,
    [json, params.id, params.token],
  );
  return rows.length > 0;
}

export async function jobRemoteSet(cx: PgContext, params: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean> {
  const rows = await exec(
    cx,
    `UPDATE ${cx.t.jobs} SET remote = $1 WHERE id = $2 AND lease_token = $3 AND ${stillRunning()} RETURNING 1`,
    [params.remote === null ? null : JSON.stringify(params.remote), params.id, params.token],
  );
  return rows.length > 0;
}

export async function jobLogAppend(cx: PgContext, params: { lines: LogLine[] }): Promise<void> {
  if (params.lines.length === 0) return;
  const l = params.lines;
  await exec(
    cx,
    `INSERT INTO ${cx.t.job_logs} (job_id, attempt, at, line) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[])`,
    [l.map((x) => x.jobId), l.map((x) => x.attempt), l.map((x) => x.at), l.map((x) => x.line)],
  );
}
