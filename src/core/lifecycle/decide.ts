/** The decisions the plans are made of: retry, escalate or fail; which escalation rule applies; where a job re-enters its queue. */
import { type Backoff, backoffDelay } from "../backoff.js";
import type { EscalationRule, JobStatus } from "../job.js";

export type FailureDecision =
  | { action: "retry"; runAt: number; status: "queued" | "scheduled" }
  | { action: "escalate"; rule: EscalationRule }
  | { action: "fail" };

export function decideFailure(params: {
  attempts: number;
  maxAttempts: number;
  backoff: Backoff;
  rule: EscalationRule | null;
  retryable: boolean;
  now: number;
  /** A lost attempt (the worker died) goes back at once, without backoff. */
  immediate?: boolean;
}): FailureDecision {
  const { attempts, maxAttempts, rule, now } = params;
  const spent = !params.retryable || attempts >= maxAttempts;
  if (rule && (attempts >= rule.after || spent)) return { action: "escalate", rule };
  if (spent) return { action: "fail" };
  const delay = params.immediate ? 0 : backoffDelay(params.backoff, attempts);
  return { action: "retry", runAt: now + delay, status: delay > 0 ? "scheduled" : "queued" };
}

/** The most specific rule wins: queue and kind, then kind, then queue. */
export function matchEscalation(
  rules: readonly EscalationRule[],
  job: { queue: string; kind: string },
): EscalationRule | null {
  let best: EscalationRule | null = null;
  let bestScore = -1;
  for (const r of rules) {
    if (r.queue !== null && r.queue !== job.queue) continue;
    if (r.kind !== null && r.kind !== job.kind) continue;
    const score = (r.kind !== null ? 2 : 0) + (r.queue !== null ? 1 : 0);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

/** The status a job takes when it enters (or re-enters) its queue. */
export function readyStatus(params: {
  runAt: number;
  now: number;
  depStatuses: readonly JobStatus[];
}): "queued" | "scheduled" | "blocked" {
  if (params.depStatuses.some((s) => s !== "completed")) return "blocked";
  return params.runAt > params.now ? "scheduled" : "queued";
}
