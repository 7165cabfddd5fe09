import { parseDuration } from "./duration.js";
import { ValidationError } from "./errors.js";

export const BACKOFF_STRATEGIES = ["immediate", "linear", "exponential", "fibonacci"] as const;
export type BackoffStrategy = (typeof BACKOFF_STRATEGIES)[number];

export interface Backoff {
  strategy: BackoffStrategy;
  /** Delay unit in ms: linear waits base×n, exponential base×2^(n-1), fibonacci base×fib(n). */
  baseMs: number;
  /** No wait is ever longer than this. */
  capMs: number;
  /** 0..1: each wait is shortened by a random share up to this fraction, so retries spread out. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = {
  strategy: "exponential",
  baseMs: 1000,
  capMs: 3_600_000,
  jitter: 0,
};

function fibonacci(n: number): number {
  let a = 1;
  let b = 1;
  for (let i = 2; i < n; i++) [a, b] = [b, a + b];
  return n <= 2 ? 1 : b;
}

/**
 * The wait before the next attempt, after `failures` failed attempts (1 after the first failure).
 * `random` is injectable so tests can pin jitter.
 */
export function backoffDelay(backoff: Backoff, failures: number, random = Math.random): number {
  const n = Math.max(1, failures);
  let delay: number;
  switch (backoff.strategy) {
    case "immediate":
      return 0;
    case "linear":
      delay = backoff.baseMs * n;
      break;
    case "exponential":
      // 2^n overflows to Infinity long before it matters; the cap bounds it either way.
      delay = backoff.baseMs * 2 ** Math.min(n - 1, 60);
      break;
    case "fibonacci":
      delay = backoff.baseMs * fibonacci(Math.min(n, 90));
      break;
  }
  delay = Math.min(delay, backoff.capMs);
  if (backoff.jitter > 0) delay -= delay * backoff.jitter * random();
  return Math.max(0, Math.round(delay));
}

export interface BackoffInput {
  strategy?: string;
  base?: number | string;
  cap?: number | string;
  jitter?: number | boolean;
}

/** Accepts an object or the text form `strategy[:base[:cap]]`, e.g. `exponential:2s:10m`. */
export function parseBackoff(input: unknown, field = "backoff"): Backoff {
  let obj: BackoffInput;
  if (typeof input === "string") {
    const [strategy, base, cap] = input.split(":");
    obj = { strategy, base, cap };
  } else if (input && typeof input === "object") {
    obj = input as BackoffInput;
  } else {
    throw new ValidationError(field, `expected a strategy name or an object, got ${JSON.stringify(input)}`);
  }
  const strategy = (obj.strategy ?? DEFAULT_BACKOFF.strategy).toString().toLowerCase();
  if (!(BACKOFF_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new ValidationError(
      `${field}.strategy`,
      `unknown backoff ${JSON.stringify(obj.strategy)}; use immediate, linear, exponential or fibonacci`,
    );
  }
  const baseMs = obj.base === undefined || obj.base === "" ? DEFAULT_BACKOFF.baseMs : parseDuration(obj.base, `${field}.base`);
  const capMs = obj.cap === undefined || obj.cap === "" ? DEFAULT_BACKOFF.capMs : parseDuration(obj.cap, `${field}.cap`);
  let jitter = 0;
  if (obj.jitter === true) jitter = 0.5;
  else if (typeof obj.jitter === "number") {
    if (!(obj.jitter >= 0 && obj.jitter <= 1)) {
      throw new ValidationError(`${field}.jitter`, `must be between 0 and 1, got ${obj.jitter}`);
    }
    jitter = obj.jitter;
  } else if (obj.jitter !== undefined && obj.jitter !== false) {
    throw new ValidationError(`${field}.jitter`, `must be true, false or a fraction between 0 and 1`);
  }
  return { strategy: strategy as BackoffStrategy, baseMs, capMs, jitter };
}
