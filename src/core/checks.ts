/** Checks of what a person asks of queues, rules, listings and targets; the messages live here, once. */
import { ConflictError, ValidationError } from "./errors.js";
import { type EscalationRule, JOB_STATUSES, type JobStatus, QUEUE_STATES, type QueueState } from "./job.js";
import { assertName } from "./spec.js";

export function assertConcurrency(c: number | null): void {
  if (c !== null && (!Number.isInteger(c) || c < 1)) {
    throw new ValidationError("concurrency", `must be a whole number of 1 or more, or null for no limit; got ${c}`);
  }
}

export function assertQueueState(state: unknown): asserts state is QueueState {
  if (!(QUEUE_STATES as readonly unknown[]).includes(state)) {
    throw new ValidationError("state", `unknown queue state ${JSON.stringify(state)}; use running, paused or stopped`);
  }
}

export function assertStatuses(statuses: readonly string[]): asserts statuses is JobStatus[] {
  for (const s of statuses) {
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw new ValidationError("status", `unknown status ${JSON.stringify(s)}; use one of ${JOB_STATUSES.join(", ")}`);
    }
  }
}

export function assertEscalationRule(r: EscalationRule): void {
  if (r.queue === null && r.kind === null) throw new ValidationError("rule", "give the queue or the kind (or both) the rule applies to");
  if (r.toQueue === null && r.toKind === null) throw new ValidationError("rule", "give toQueue or toKind (or both): where failing jobs go");
  if (!Number.isInteger(r.after) || r.after < 1) throw new ValidationError("rule.after", `must be a whole number of attempts, 1 or more; got ${r.after}`);
  for (const [field, v] of [["rule.queue", r.queue], ["rule.kind", r.kind], ["rule.toQueue", r.toQueue], ["rule.toKind", r.toKind]] as const) {
    if (v !== null) assertName(v, field);
  }
}

export function targetExistsError(name: string): ConflictError {
  return new ConflictError(`target "${name}" exists; remove it first (runway target rm ${name}) or replace it`);
}

export function targetBusyError(name: string, active: number): ConflictError {
  return new ConflictError(`target "${name}" still has ${active} job(s) waiting or running; cancel them or let them finish first`);
}
