/**
 * Cron schedules: a job added for each tick of a cron expression. A schedule keeps the time of
 * its next tick; whoever fires it moves that time on in the same transaction as the job it adds,
 * which is what makes a tick fire once however many workers are looking.
 *
 * Ticks missed while no worker ran (the machine was off, every worker stopped) are not made up
 * for one by one: the schedule fires once, for the first tick it missed, and then waits for the
 * next tick after the present.
 */
import { createRequire } from "node:module";
import type { Cron } from "croner";
import { DEFAULT_BACKOFF } from "./backoff.js";
import { ValidationError } from "./errors.js";
import { type Priority, type PriorityInput, parsePriority, priorityRank } from "./priority.js";
import { DEFAULT_QUEUE, type NewJob, assertName, encodePayload, newJobId } from "./spec.js";

/** What a caller gives to set a schedule. */
export interface CronSpec {
  /** Names the schedule; setting a name again replaces that schedule. */
  name: string;
  /** Five fields (minute precision), six (seconds first) or seven (years last), or @daily and the like. */
  pattern: string;
  /** The kind of the jobs it adds, and their payload. */
  kind: string;
  payload?: unknown;
  queue?: string;
  priority?: PriorityInput;
  /** IANA name the pattern's times are read in; default the local timezone of the process setting it. */
  timezone?: string | null;
}

export interface CronSchedule {
  name: string;
  pattern: string;
  timezone: string;
  queue: string;
  kind: string;
  payload: unknown;
  priority: Priority;
  /** The next tick not yet fired (epoch ms); null when the pattern has no tick left (a past year). */
  nextAt: number | null;
  createdAt: number;
}

/** A validated schedule, as the stores write it. */
export interface NewCron {
  name: string;
  pattern: string;
  timezone: string;
  queue: string;
  kind: string;
  payloadJson: string;
  priority: number;
  nextAt: number;
}

const PATTERN_HINT = 'use five fields (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *" or "0 9 * * 1-5", or six with seconds first, e.g. "*/10 * * * * *"';

export function localTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function assertTimezone(timezone: unknown): string {
  if (typeof timezone === "string" && timezone.trim() !== "") {
    try {
      return new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions().timeZone;
    } catch {
      // Reported below with the field and an example.
    }
  }
  throw new ValidationError("timezone", `unknown timezone ${JSON.stringify(timezone)}; use an IANA name, e.g. "Europe/Paris" or "UTC"`);
}

/** Loaded on first use: most commands never read a cron expression. */
let croner: typeof import("croner") | null = null;

function parsePattern(pattern: unknown, timezone: string): Cron {
  if (typeof pattern !== "string" || pattern.trim() === "") {
    throw new ValidationError("pattern", `expected a cron expression, got ${JSON.stringify(pattern)}; ${PATTERN_HINT}`);
  }
  croner ??= createRequire(import.meta.url)("croner") as typeof import("croner");
  try {
    // Without a function to run, croner only parses: no timer is started.
    return new croner.Cron(pattern.trim(), { timezone, paused: true });
  } catch (err) {
    const why = (err as Error).message.replace(/^Cron\w*:\s*/, "");
    throw new ValidationError("pattern", `${JSON.stringify(pattern)} is not a cron expression (${why}); ${PATTERN_HINT}`);
  }
}

/** The first tick strictly after `after` (epoch ms), or null when the pattern has none left. */
export function nextCronTick(pattern: string, timezone: string, after: number): number | null {
  const next = parsePattern(pattern, timezone).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** Validates a schedule and works out its first tick after `now`. */
export function prepareCron(spec: CronSpec, now: number): NewCron {
  if (!spec || typeof spec !== "object") throw new ValidationError("schedule", "expected an object with a name, a pattern and a kind");
  const name = assertName(spec.name, "name");
  const kind = assertName(spec.kind, "kind");
  const queue = spec.queue === undefined ? DEFAULT_QUEUE : assertName(spec.queue, "queue");
  const priority = priorityRank(spec.priority === undefined ? "normal" : parsePriority(spec.priority, "priority"));
  const timezone = assertTimezone(spec.timezone ?? localTimezone());
  const pattern = typeof spec.pattern === "string" ? spec.pattern.trim() : spec.pattern;
  const nextAt = nextCronTick(pattern as string, timezone, now);
  if (nextAt === null) throw new ValidationError("pattern", `${JSON.stringify(pattern)} has no time left after now; ${PATTERN_HINT}`);
  return { name, pattern, timezone, queue, kind, payloadJson: encodePayload(spec.payload, "payload"), priority, nextAt };
}

/** The unique key of the job a tick adds: held while that job is active, and naming its tick for good. */
export function cronJobKey(name: string, tick: number): string {
  return `cron:${name}:${tick}`;
}

/**
 * The tick after `now` for a stored schedule. A pattern this version of croner no longer reads
 * gives null (the schedule stops, and `cron ls` shows it) rather than an error that would stop
 * every other schedule from firing too.
 */
export function followingTick(s: { pattern: string; timezone: string }, now: number): number | null {
  try {
    return nextCronTick(s.pattern, s.timezone, now);
  } catch {
    return null;
  }
}

/** The job a schedule adds for one tick. */
export function cronJob(
  s: { name: string; queue: string; kind: string; payloadJson: string; priority: number },
  tick: number,
  now: number,
): NewJob {
  return {
    id: newJobId(now),
    queue: s.queue,
    kind: s.kind,
    payloadJson: s.payloadJson,
    priority: s.priority,
    runAt: tick,
    dependsOn: [],
    maxAttempts: 1,
    backoff: DEFAULT_BACKOFF,
    timeoutMs: null,
    key: cronJobKey(s.name, tick),
    name: s.name,
    labels: { cron: s.name },
    escalatedFrom: null,
    target: null,
  };
}
