/**
 * What every part of the PostgreSQL store shares: the pool, the schema's table names, the ways
 * to run a statement (alone, on a connection, in a transaction), error wrapping, the rows most
 * verbs start from, and the little state one process keeps between calls.
 */
import type pg from "pg";
import { NotFoundError, RunwayError } from "../../core/errors.js";
import type { EscalationRule } from "../../core/job.js";
import { type JobRow, type QueueRow, type RuleRow, toRule } from "../rows.js";
import { type PgLocation, explainPgError, isTransient, loadPg, migrate, parsePgUrl } from "./connection.js";

/** A connection to run statements on: pooled, or the caller's own. */
export type Q = pg.PoolClient | pg.Client;

const TABLES = ["jobs", "queues", "job_deps", "job_attempts", "job_logs", "escalation_rules", "targets", "cron_schedules"] as const;
export type Tables = Record<(typeof TABLES)[number], string>;

/** What this process remembers between calls: for speed and fairness only, the database holds everything that matters. */
export interface PgState {
  /** The queue a target's lane starts from next, so every queue gets its turn. */
  roundRobin: number;
  addedSinceAnalyze: number;
  rowsAtAnalyze: number;
  analyzing: boolean;
  /** The limited queue served last: the next claim starts after it, so every queue gets its turn. */
  lastLimited: string;
  /** Running queues by kind of claim, refreshed every second (each claim re-checks its queue itself). */
  limitedCache: { at: number; names: string[] } | null;
  /** The earliest run_at of a scheduled job this process knows of; promotion runs when it passes. */
  nextDueAt: number;
  lastPromote: number;
  lastVacuum: number;
}

export interface PgContext {
  readonly schema: string;
  /** The schema-qualified name of each table. */
  readonly t: Tables;
  /** The NOTIFY channel workers of this schema listen on. */
  readonly channel: string;
  readonly pool: pg.Pool;
  readonly where: PgLocation;
  /** Settles when the schema is migrated; every call waits for it. */
  readonly ready: Promise<void>;
  readonly state: PgState;
}

export function openContext(opts: { url: string; schema?: string; poolSize?: number }): PgContext {
  const where = parsePgUrl(opts.url, opts.schema);
  const schema = where.schema;
  const pool = new (loadPg().Pool)({
    ...where.config,
    max: opts.poolSize ?? 10,
    // runway's statements are prepared once per connection; planning them afresh on every run
    // (PostgreSQL's default for the first executions) costs more than running them.
    options: "-c plan_cache_mode=force_generic_plan",
  });
  // An idle pooled connection that dies (server restart, pg_terminate_backend) is dropped by
  // the pool; without a listener its error would crash the process.
  pool.on("error", () => {});
  // The same for a connection this store holds between two queries: the next query fails
  // and is retried; the event itself must not crash the process.
  pool.on("connect", (client) => client.on("error", () => {}));
  const ready = migrate(pool, schema).catch((err) => {
    throw err instanceof RunwayError ? err : explainPgError(err, where);
  });
  // Callers see the failure on their first call; an unobserved rejection must not crash the process first.
  ready.catch(() => {});
  const s = `"${schema}"`;
  return {
    schema,
    t: Object.fromEntries(TABLES.map((name) => [name, `${s}.${name}`])) as Tables,
    channel: `runway_${schema}`,
    pool,
    where,
    ready,
    state: {
      roundRobin: 0,
      addedSinceAnalyze: 0,
      rowsAtAnalyze: 0,
      analyzing: false,
      lastLimited: "",
      limitedCache: null,
      nextDueAt: 0,
      lastPromote: 0,
      lastVacuum: 0,
    },
  };
}

/**
 * "This leased row is still running", for statements that find rows by id. Written as plain
 * `status = 'running'`, it lets the planner answer the lookup from the partial index of running
 * jobs, which the statistics, taken while those jobs were still waiting, call empty: it then
 * reads every running job for each id (a thousand completions took six seconds instead of ten
 * milliseconds). The concatenation keeps the meaning and leaves the primary key as the only way in.
 */
export function stillRunning(alias?: string): string {
  return `${alias ? `${alias}.` : ""}status || '' = 'running'`;
}

export async function q<R extends pg.QueryResultRow = any>(c: Q, text: string, values: unknown[] = []): Promise<R[]> {
  return (await c.query<R>(text, values)).rows;
}

/** Keeps runway's own errors; turns a server's trouble into a StoreUnavailableError that says what happened. */
export function wrap(cx: PgContext, err: unknown): Error {
  if (err instanceof RunwayError) return err;
  const code = (err as { code?: string }).code;
  // Programming errors (SQL the server rejects) keep their detail; connection trouble gets a clear line.
  if (code && /^(22|23|42[^5]|42P)/.test(code)) return err as Error;
  return explainPgError(err, cx.where);
}

/**
 * Runs `fn` on a pooled connection of its own. A connection that failed under it is dropped
 * rather than reused; `onError` may clean up first (say, roll back). Failures become one clear error.
 */
export async function withClient<T>(cx: PgContext, fn: (c: pg.PoolClient) => Promise<T>, onError?: (c: pg.PoolClient) => Promise<void>): Promise<T> {
  await cx.ready;
  let client: pg.PoolClient;
  try {
    client = await cx.pool.connect();
  } catch (err) {
    throw wrap(cx, err);
  }
  let broken = false;
  try {
    return await fn(client);
  } catch (err) {
    broken = isTransient(err);
    if (!broken && onError) await onError(client).catch(() => (broken = true));
    throw wrap(cx, err);
  } finally {
    client.release(broken);
  }
}

/** Reads on a connection of their own, without a transaction. */
export function read<T>(cx: PgContext, fn: (c: Q) => Promise<T>): Promise<T> {
  return withClient(cx, fn);
}

const rollback = async (client: pg.PoolClient) => void (await client.query("ROLLBACK"));

/**
 * Runs `fn` in a transaction. `notify`: wake the other workers when this commits. "ask" leaves
 * it to `fn`, which calls wake() when the change frees or creates work; waking every worker on
 * every completion would send them all to claim at once for nothing.
 */
export function tx<T>(cx: PgContext, fn: (c: pg.PoolClient, wake: () => void) => Promise<T>, opts: { notify?: boolean | "ask" } = {}): Promise<T> {
  return withClient(
    cx,
    async (client) => {
      await client.query("BEGIN");
      let woken = opts.notify === undefined || opts.notify === true;
      const result = await fn(client, () => (woken = true));
      if (woken) await notify(cx, client);
      await client.query("COMMIT");
      return result;
    },
    rollback,
  );
}

/** Prepared-statement names are per connection and the SQL names the schema, so the name does too. */
export function named(cx: PgContext, name: string): string {
  return `runway:${cx.schema}:${name}`;
}

/**
 * One statement on its own (atomic without a transaction around it): one round trip. Hot
 * statements pass a `name`, so each connection parses and plans them once.
 */
export async function exec<R extends pg.QueryResultRow = any>(cx: PgContext, text: string, values: unknown[] = [], name?: string): Promise<R[]> {
  await cx.ready;
  try {
    return (await cx.pool.query<R>(name ? { name: named(cx, name), text, values } : { text, values })).rows;
  } catch (err) {
    throw wrap(cx, err);
  }
}

/** `exec` with rows as arrays (no object per row), for the claim path. */
export async function execRaw(cx: PgContext, text: string, values: unknown[], name: string): Promise<pg.QueryResult<any[]>> {
  await cx.ready;
  try {
    return await cx.pool.query({ name: named(cx, name), text, values, rowMode: "array" });
  } catch (err) {
    throw wrap(cx, err);
  }
}

/** Wakes every worker of the schema (on commit, when `c` is in a transaction). */
export async function notify(cx: PgContext, c: Q): Promise<void> {
  await c.query("SELECT pg_notify($1, '')", [cx.channel]);
}

export async function row(cx: PgContext, c: Q, id: string, lock = false): Promise<JobRow | undefined> {
  return (await q<JobRow>(c, `SELECT * FROM ${cx.t.jobs} WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]))[0];
}

export async function mustRow(cx: PgContext, c: Q, id: string, lock = false): Promise<JobRow> {
  const r = await row(cx, c, id, lock);
  if (!r) throw new NotFoundError("job", id);
  return r;
}

export async function mustQueue(cx: PgContext, c: Q, name: string): Promise<QueueRow> {
  const found = (await q<QueueRow>(c, `SELECT * FROM ${cx.t.queues} WHERE name = $1`, [name]))[0];
  if (!found) throw new NotFoundError("queue", name);
  return found;
}

export async function ensureQueues(cx: PgContext, c: Q, queues: string[], now: number): Promise<void> {
  await c.query(`INSERT INTO ${cx.t.queues} (name, created_at) SELECT unnest($1::text[]), $2 ON CONFLICT (name) DO NOTHING`, [queues, now]);
}

export async function loadRules(cx: PgContext, c: Q): Promise<EscalationRule[]> {
  return (await q<RuleRow>(c, `SELECT * FROM ${cx.t.escalation_rules}`)).map(toRule);
}

/** This process scheduled something: promotion must not wait for its once-a-second look. */
export function scheduledAt(cx: PgContext, runAt: number): void {
  cx.state.nextDueAt = Math.min(cx.state.nextDueAt, runAt);
}
