import { ValidationError } from "./errors.js";

/** Lower rank runs first. Stored as the rank so the claim index orders by it directly. */
export const PRIORITIES = ["critical", "high", "normal", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];
export type PriorityInput = Priority | "P1" | "P2" | "P3" | "P4" | Uppercase<Priority>;

export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority) + 1;
}

export function priorityFromRank(rank: number): Priority {
  const p = PRIORITIES[rank - 1];
  if (!p) throw new Error(`corrupt priority rank ${rank}`);
  return p;
}

export function parsePriority(input: unknown, field = "priority"): Priority {
  if (typeof input === "string") {
    const s = input.trim().toLowerCase();
    if ((PRIORITIES as readonly string[]).includes(s)) return s as Priority;
    const m = /^p([1-4])$/.exec(s);
    if (m) return PRIORITIES[Number(m[1]) - 1]!;
  }
  throw new ValidationError(
    field,
    `unknown priority ${JSON.stringify(input)}; use critical, high, normal or low (or P1..P4)`,
  );
}
