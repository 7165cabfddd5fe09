import { randomFillSync } from "node:crypto";
import { createRequire } from "node:module";
import { monotonicFactory } from "ulid";
import type { z } from "zod";
import { type Backoff, DEFAULT_BACKOFF, parseBackoff } from "./backoff.js";
import { parseDuration } from "./duration.js";
import { ValidationError } from "./errors.js";
import { type PriorityInput, parsePriority, priorityRank } from "./priority.js";
import { TARGET_NAME_RE } from "./target.js";

/** What a caller gives to add a job. Only `kind` is required. */
export interface JobSpec<TPayload = unknown> {
  kind: string;
  payload?: TPayload;
  queue?: string;
  priority?: PriorityInput;
  /** Run no earlier than this (epoch ms, Date or ISO text). */
  runAt?: number | Date | string;
  /** Run no earlier than this long from now (ms or "30s", "5m"…). */
  delay?: number | string;
  /** Ids of jobs that must complete first, or `ref`s of jobs earlier in the same addMany. */
  dependsOn?: string[];
  /** Attempts in all, including the first. Default 1: no retries. */
  maxAttempts?: number;
  backoff?: Backoff | string | { strategy?: string; base?: number | string; cap?: number | string; jitter?: number | boolean };
  /** Per-attempt time limit (ms or "10m"); the handler's AbortSignal fires when it is reached. */
  timeout?: number | string;
  /** While a job with this key is queued, scheduled, blocked or running in the queue, adding another returns it. */
  key?: string;
  name?: string;
  labels?: Record<string, string>;
  /** A name other jobs of the same addMany can list in dependsOn. */
  ref?: string;
  /** Run on this remote target (see `runway target add`) instead of the worker's machine. */
  target?: string;
}

/** A validated job, ready for the store. */
export interface NewJob {
  id: string;
  queue: string;
  kind: string;
  payloadJson: string;
  priority: number;
  runAt: number;
  dependsOn: string[];
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number | null;
  key: string | null;
  name: string | null;
  labels: Record<string, string>;
  escalatedFrom: string | null;
  target: string | null;
}

export const DEFAULT_QUEUE = "default";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$/;
const NAME_HINT = "1-128 characters: letters, digits and _ . : @ / - (starting with a letter or digit)";

/** A spec as the checks leave it: every field of the right type. */
interface CheckedSpec {
  kind: string;
  payload?: unknown;
  queue?: string;
  priority?: unknown;
  runAt?: number | Date | string;
  delay?: number | string;
  dependsOn?: string[];
  maxAttempts?: number;
  backoff?: unknown;
  timeout?: number | string;
  key?: string;
  name?: string;
  labels?: Record<string, string>;
  ref?: string;
  target?: string;
}

/**
 * The schema of a spec. zod takes about 50 ms to load, a third of what `runway add` may take in
 * all, so it is loaded only when the quick check below finds something wrong, to say what.
 */
let schemaCache: z.ZodType<CheckedSpec> & { shape: Record<string, unknown> } | null = null;
function specSchema() {
  if (schemaCache) return schemaCache;
  const { z: zod } = createRequire(import.meta.url)("zod") as typeof import("zod");
  const nameField = zod.string().regex(NAME_RE, NAME_HINT);
  schemaCache = zod
    .object({
      kind: nameField,
      payload: zod.unknown().optional(),
      queue: nameField.optional(),
      priority: zod.unknown().optional(),
      runAt: zod.union([zod.number(), zod.date(), zod.string()]).optional(),
      delay: zod.union([zod.number(), zod.string()]).optional(),
      dependsOn: zod.array(zod.string().min(1)).optional(),
      maxAttempts: zod.number().int().min(1).max(1000).optional(),
      backoff: zod.unknown().optional(),
      timeout: zod.union([zod.number(), zod.string()]).optional(),
      key: zod.string().min(1).max(512).optional(),
      name: zod.string().max(512).optional(),
      labels: zod.record(zod.string(), zod.string()).optional(),
      ref: zod.string().min(1).optional(),
      target: zod.string().regex(TARGET_NAME_RE, "a target name: 1-64 letters, digits and _ . -").optional(),
    })
    .strict() as unknown as z.ZodType<CheckedSpec> & { shape: Record<string, unknown> };
  return schemaCache;
}

const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown) => typeof v === "string";
/** Accepts exactly what the schema accepts, or less: whatever it lets through, the schema would too. */
const QUICK: Record<keyof CheckedSpec, (v: unknown) => boolean> = {
  kind: (v) => isString(v) && NAME_RE.test(v as string),
  payload: () => true,
  queue: (v) => isString(v) && NAME_RE.test(v as string),
  priority: () => true,
  runAt: (v) => isNumber(v) || isString(v) || (v instanceof Date && !Number.isNaN(v.getTime())),
  delay: (v) => isNumber(v) || isString(v),
  dependsOn: (v) => Array.isArray(v) && v.every((d) => isString(d) && (d as string).length > 0),
  maxAttempts: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000,
  backoff: () => true,
  timeout: (v) => isNumber(v) || isString(v),
  key: (v) => isString(v) && (v as string).length >= 1 && (v as string).length <= 512,
  name: (v) => isString(v) && (v as string).length <= 512,
  labels: (v) =>
    !!v && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isString),
  ref: (v) => isString(v) && (v as string).length > 0,
  target: (v) => isString(v) && TARGET_NAME_RE.test(v as string),
};

function quickCheck(raw: Record<string, unknown>): raw is Record<string, unknown> & CheckedSpec {
  if (raw.kind === undefined) return false;
  for (const key in raw) {
    const check = QUICK[key as keyof CheckedSpec];
    if (!check) return false;
    if (raw[key] !== undefined && !check(raw[key])) return false;
  }
  return true;
}

function checkSpec(raw: Record<string, unknown>, field: string): CheckedSpec {
  if (quickCheck(raw)) return raw;
  const parsed = specSchema().safeParse(raw);
  if (!parsed.success) throw zodToValidation(parsed.error, field);
  return parsed.data;
}

// ulid asks its random source once per character; drawing from a pooled buffer instead of
// the system source each time makes an id about ten times cheaper.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function pooledRandom(): number {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]! / 256;
}
const ulid = monotonicFactory(pooledRandom);

/** Time-sortable and unique: 48 bits of milliseconds, then 80 bits that grow within a millisecond. */
export function newJobId(now = Date.now()): string {
  return ulid(now).toLowerCase();
}

export function assertName(value: unknown, field: string): string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value)} is not a valid name; use ${NAME_HINT}`);
  }
  return value;
}

function zodToValidation(err: z.ZodError, prefix: string): ValidationError {
  const issue = err.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  if (issue.code === "unrecognized_keys") {
    return new ValidationError(
      prefix,
      `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; allowed: ${Object.keys(QUICK).join(", ")}`,
    );
  }
  // zod says "expected string, received undefined" of a field left out; people say "missing".
  if (issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined) {
    return new ValidationError(path, `missing; expected ${(issue as { expected?: string }).expected ?? "a value"}`);
  }
  return new ValidationError(path, issue.message);
}

export function encodePayload(payload: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload === undefined ? null : payload);
  } catch (err) {
    throw new ValidationError(field, `is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) throw new ValidationError(field, "is not JSON-serialisable");
  return json;
}

function parseRunAt(spec: CheckedSpec, now: number, field: string): number {
  if (spec.runAt !== undefined && spec.delay !== undefined) {
    throw new ValidationError(field, "give runAt or delay, not both");
  }
  if (spec.delay !== undefined) {
    if (typeof spec.delay === "number" && spec.delay < 0) {
      throw new ValidationError(`${field}.delay`, `must not be negative, got ${spec.delay}`);
    }
    return now + parseDuration(spec.delay, `${field}.delay`);
  }
  if (spec.runAt !== undefined) {
    const t = spec.runAt instanceof Date ? spec.runAt.getTime() : typeof spec.runAt === "string" ? Date.parse(spec.runAt) : spec.runAt;
    if (!Number.isFinite(t)) throw new ValidationError(`${field}.runAt`, `not a time: ${JSON.stringify(spec.runAt)}`);
    return t;
  }
  return now;
}

/**
 * Validates a batch of specs and gives each an id. `ref`s and ids inside the batch are resolved
 * here; ids of jobs already in the store are checked by the store in the same transaction as
 * the insert. Cycles can only form inside a batch (a stored job cannot depend on a new one), so
 * they are refused here.
 */
export function prepareJobs(specs: readonly unknown[], now = Date.now()): NewJob[] {
  const single = specs.length === 1;
  const refs = new Map<string, string>();
  const prepared: (NewJob & { ref?: string })[] = specs.map((raw, i) => {
    const field = single ? "job" : `jobs[${i}]`;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      throw new ValidationError(field, "a job spec must be an object with at least a kind");
    }
    const spec = checkSpec(raw as Record<string, unknown>, field);
    const id = newJobId(now);
    if (spec.ref !== undefined) {
      if (refs.has(spec.ref)) throw new ValidationError(`${field}.ref`, `ref ${JSON.stringify(spec.ref)} is used twice`);
      refs.set(spec.ref, id);
    }
    return {
      id,
      queue: spec.queue ?? DEFAULT_QUEUE,
      kind: spec.kind,
      payloadJson: encodePayload(spec.payload, `${field}.payload`),
      priority: priorityRank(spec.priority === undefined ? "normal" : parsePriority(spec.priority, `${field}.priority`)),
      runAt: parseRunAt(spec, now, field),
      dependsOn: spec.dependsOn ?? [],
      maxAttempts: spec.maxAttempts ?? 1,
      backoff: spec.backoff === undefined ? DEFAULT_BACKOFF : parseBackoff(spec.backoff, `${field}.backoff`),
      timeoutMs: spec.timeout === undefined ? null : parseDuration(spec.timeout, `${field}.timeout`) || null,
      key: spec.key ?? null,
      name: spec.name ?? null,
      labels: spec.labels ?? {},
      escalatedFrom: null,
      target: spec.target ?? null,
    };
  });
  for (const [i, job] of prepared.entries()) {
    job.dependsOn = [...new Set(job.dependsOn.map((d) => refs.get(d) ?? d.toLowerCase()))];
    if (job.dependsOn.includes(job.id)) {
      throw new ValidationError(single ? "job.dependsOn" : `jobs[${i}].dependsOn`, "a job cannot depend on itself");
    }
  }
  assertAcyclic(prepared);
  return prepared;
}

function assertAcyclic(jobs: readonly NewJob[]): void {
  const inBatch = new Map(jobs.map((j) => [j.id, j]));
  const state = new Map<string, "visiting" | "done">();
  const visit = (job: NewJob, path: string[]): void => {
    const s = state.get(job.id);
    if (s === "done") return;
    if (s === "visiting") {
      throw new ValidationError("dependsOn", `dependency cycle: ${[...path, job.id].join(" -> ")}`);
    }
    state.set(job.id, "visiting");
    for (const dep of job.dependsOn) {
      const next = inBatch.get(dep);
      if (next) visit(next, [...path, job.id]);
    }
    state.set(job.id, "done");
  };
  for (const job of jobs) visit(job, []);
}
