/** A plan's field changes as table columns, for either dialect to write with its own placeholders. */
import type { JobPatch } from "../core/lifecycle/plan.js";

const COLUMNS: Record<Exclude<keyof JobPatch, "endLease">, string> = {
  status: "status",
  attempts: "attempts",
  attempt: "attempt",
  runAt: "run_at",
  resultJson: "result",
  error: "error",
  reason: "reason",
  progress: "progress",
  skippedBy: "skipped_by",
  escalatedTo: "escalated_to",
  workerId: "worker_id",
  startedAt: "started_at",
  finishedAt: "finished_at",
  position: "position",
  priority: "priority",
  abortRequested: "abort_requested",
};

/** [column, value] for every field the patch sets; an ended lease clears its token and expiry. */
export function patchColumns(patch: JobPatch): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (field === "endLease") continue;
    if (value !== undefined) out.push([COLUMNS[field as keyof typeof COLUMNS], value]);
  }
  if (patch.endLease) out.push(["lease_token", null], ["lease_expires_at", null]);
  return out;
}
