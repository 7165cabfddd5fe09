/** Where a new job starts: its status, given the jobs it depends on. */
import { ValidationError } from "../errors.js";
import { DOOMED_STATUSES, type JobStatus } from "../job.js";
import type { NewJob } from "../spec.js";
import { readyStatus } from "./decide.js";

export interface DepPlace {
  status: JobStatus;
  skippedBy: string | null;
}

/**
 * Skipped when a dependency has already failed, been cancelled or skipped (naming the root of
 * that cascade), blocked while any has not completed, else queued or scheduled. `known` holds
 * every dependency's state, stored or of the same batch; one missing is an unknown job, and the
 * whole add is refused.
 */
export function placeDependent(p: {
  job: NewJob;
  field: string;
  deps: string[];
  known: Map<string, DepPlace>;
  now: number;
}): { status: JobStatus; root: string | null; reason: string | null } {
  const states = p.deps.map((id) => {
    const s = p.known.get(id);
    if (!s) throw new ValidationError(`${p.field}.dependsOn`, `unknown job ${id}; a job can only depend on jobs that exist`);
    return { id, ...s };
  });
  const doomed = states.find((d) => DOOMED_STATUSES.includes(d.status));
  if (!doomed) return { status: readyStatus({ runAt: p.job.runAt, now: p.now, depStatuses: states.map((d) => d.status) }), root: null, reason: null };
  const root = doomed.skippedBy ?? doomed.id;
  return { status: "skipped", root, reason: `upstream job ${root} ${doomed.status === "skipped" ? "was skipped" : doomed.status}` };
}

/** Indexes of the batch, each after the batch jobs it depends on (the batch is known to be acyclic). */
export function topologicalOrder(jobs: readonly NewJob[]): number[] {
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  const done = new Set<number>();
  const order: number[] = [];
  const visit = (i: number) => {
    if (done.has(i)) return;
    done.add(i);
    for (const d of jobs[i]!.dependsOn) {
      const k = index.get(d);
      if (k !== undefined) visit(k);
    }
    order.push(i);
  };
  jobs.forEach((_, i) => visit(i));
  return order;
}

/** Dependencies of the batch that are not in it: their states must come from the store. */
export function storedDependencies(jobs: readonly NewJob[]): string[] {
  const inBatch = new Set(jobs.map((j) => j.id));
  return [...new Set(jobs.flatMap((j) => j.dependsOn).filter((d) => !inBatch.has(d)))];
}

/** The targets a batch names, each once; most batches name none. */
export function targetsOf(jobs: readonly NewJob[]): string[] {
  let out: Set<string> | null = null;
  for (const j of jobs) if (j.target !== null) (out ??= new Set()).add(j.target);
  return out ? [...out] : [];
}
