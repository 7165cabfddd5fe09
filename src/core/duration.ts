import { ValidationError } from "./errors.js";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Durations are given as milliseconds (a number) or as text like "500ms", "30s", "5m", "1h30m".
 */
export function parseDuration(input: unknown, field: string): number {
  if (typeof input === "number") {
    if (Number.isFinite(input) && input >= 0) return Math.round(input);
    throw new ValidationError(field, `must be a duration of zero or more, got ${input}`);
  }
  if (typeof input === "string") {
    const s = input.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s));
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      total += Number(m[1]) * UNITS[m[2]!]!;
      consumed = re.lastIndex;
    }
    if (consumed > 0 && consumed === s.length) return Math.round(total);
    if (s.startsWith("-")) {
      throw new ValidationError(field, `must not be negative, got ${JSON.stringify(input)}`);
    }
  }
  throw new ValidationError(
    field,
    `not a duration: ${JSON.stringify(input)}; use milliseconds or text like 500ms, 30s, 5m, 1h`,
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
}
