/** What a worker writes while an attempt runs, each guarded by the attempt's lease token. */
import type { RemoteRun } from "../../core/job.js";
import { encodePayload } from "../../core/spec.js";
import type { Lease, LeaseStatus, LogLine } from "../store.js";
import type { SqliteContext } from "./context.js";

export function jobHeartbeat(cx: SqliteContext, params: { leases: Lease[]; leaseMs: number; now?: number }): LeaseStatus[] {
  const now = params.now ?? Date.now();
  if (params.leases.length === 0) return [];
  return cx.write(
    () =>
      params.leases.map((l) => {
        const r = cx.stmt(
          `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'
           RETURNING abort_requested`,
        ).get(now + params.leaseMs, l.id, l.token) as { abort_requested: LeaseStatus["abort"] } | undefined;
        return { id: l.id, ok: r !== undefined, abort: r?.abort_requested ?? null };
      }),
    false,
  );
}

export function jobLeaseCheck(cx: SqliteContext, params: { leases: Lease[] }): LeaseStatus[] {
  return params.leases.map((l) => {
    const r = cx.stmt("SELECT abort_requested FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running'").get(
      l.id,
      l.token,
    ) as { abort_requested: LeaseStatus["abort"] } | undefined;
    return { id: l.id, ok: r !== undefined, abort: r?.abort_requested ?? null };
  });
}

export function jobProgress(cx: SqliteContext, params: { id: string; token: number; progress: unknown }): boolean {
  const json = encodePayload(params.progress, "progress");
  return cx.write(
    () =>
      cx.stmt("UPDATE jobs SET progress = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(
        json,
        params.id,
        params.token,
      ).changes > 0,
  );
}

export function jobRemoteSet(cx: SqliteContext, params: { id: string; token: number; remote: RemoteRun | null }): boolean {
  const json = params.remote === null ? null : JSON.stringify(params.remote);
  return cx.write(
    () =>
      cx.stmt("UPDATE jobs SET remote = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(json, params.id, params.token)
        .changes > 0,
  );
}

export function jobLogAppend(cx: SqliteContext, params: { lines: LogLine[] }): void {
  if (params.lines.length === 0) return;
  cx.write(() => {
    const ins = cx.stmt("INSERT INTO job_logs (job_id, attempt, at, line) VALUES (?, ?, ?, ?)");
    for (const l of params.lines) ins.run(l.jobId, l.attempt, l.at, l.line);
  });
}
