import type pg from "pg";
import { ConflictError, NotFoundError, RunwayError, ValidationError } from "../../core/errors.js";
import {
  type Attempt,
  DOOMED_STATUSES,
  type EscalationRule,
  type Job,
  type JobStatus,
  JOB_STATUSES,
  type QueueInfo,
  type QueueState,
  type RemoteRun,
} from "../../core/job.js";
import { type Target, type TargetSpec, checkTarget } from "../../core/target.js";
import { type CronSchedule, type CronSpec, cronJob, followingTick, prepareCron } from "../../core/cron.js";
import { jobFromNew } from "../../core/job-from-new.js";
import { nextPosition } from "../../core/position.js";
import { type NewJob, assertName, encodePayload, newJobId } from "../../core/spec.js";
import { percentile } from "../../core/stats.js";
import { decideFailure, matchEscalation, readyStatus } from "../../core/transitions.js";
import {
  type AttemptRow,
  type CronRow,
  JOB_COLUMNS,
  type JobRow,
  type QueueRow,
  type RuleRow,
  type TargetRow,
  toAttempt,
  toTarget,
  toCron,
  toJob,
  toJobRaw,
  toQueue,
  toRule,
} from "../rows.js";
import {
  ACTIVE_SQL,
  LOST_ERROR,
  assertConcurrency,
  claimOrder,
  newJobRow,
  placeDependent,
  remoteRunOpen,
  storedDependencies,
  targetsOf,
  topologicalOrder,
  withFinalAttempt,
} from "../shared.js";
import type {
  AddResult,
  ClaimedJob,
  ClaimParams,
  ClaimResult,
  Finish,
  FinishOutcome,
  JobListParams,
  LeaderLease,
  Lease,
  LeaseStatus,
  LogLine,
  MoveTarget,
  QueueStats,
  ReapResult,
  Store,
  StoredLogLine,
  TimelineBucket,
} from "../store.js";
import { type PgLocation, explainPgError, isTransient, loadPg, migrate, parsePgUrl } from "./connection.js";
import { postgresMaintenanceLeader } from "./leader.js";
import { PgListener } from "./listener.js";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database[?schema=name] */
  url: string;
  /** The schema runway's tables live in; default "runway" (or ?schema= in the URL). */
  schema?: string;
  /** Connections in this process's pool. Default 10. */
  poolSize?: number;
  /** How often to look for changes while the LISTEN connection is down. Default 500 ms. */
  pollIntervalMs?: number;
  /** Called with one line when the connection is lost, and when it comes back. */
  onWarning?: (message: string) => void;
}

type Q = pg.PoolClient | pg.Client;
type CompletedFinish = Extract<Finish, { outcome: "completed" }>;


/**
 * The PostgreSQL store: the same verbs and the same promises as the SQLite store, for workers on
 * many machines. Claims take jobs with FOR UPDATE SKIP LOCKED; a queue with a concurrency limit
 * is claimed from by one transaction at a time (its row is locked, and skipped by the others),
 * so the limit holds across every machine, while a queue without a limit pays for no lock.
 */
/**
 * "This leased row is still running", for statements that find rows by id. Written as plain
 * `status = 'running'`, it lets the planner answer the lookup from the partial index of running
 * jobs, which the statistics, taken while those jobs were still waiting, call empty: it then
 * reads every running job for each id (a thousand completions took six seconds instead of ten
 * milliseconds). The concatenation keeps the meaning and leaves the primary key as the only way in.
 */
function stillRunning(alias?: string): string {
  return `${alias ? `${alias}.` : ""}status || '' = 'running'`;
}

export class PostgresStore implements Store {
  readonly dialect = "postgres" as const;
  readonly location: string;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly where: PgLocation;
  private readonly s: string;
  private readonly channel: string;
  private readonly listener: PgListener;
  private readonly ready: Promise<void>;
  private readonly warn: (message: string) => void;
  private roundRobin = 0;
  private addedSinceAnalyze = 0;
  private rowsAtAnalyze = 0;
  private analyzing = false;
  /** The limited queue served last: the next claim starts after it, so every queue gets its turn. */
  private lastLimited = "";
  private closed = false;
  /** Running queues by kind of claim, refreshed every second (each claim re-checks its queue itself). */
  private limitedCache: { at: number; names: string[] } | null = null;
  /** The earliest run_at of a scheduled job this process knows of; promotion runs when it passes. */
  private nextDueAt = 0;
  private lastVacuum = 0;
  private lastPromote = 0;

  constructor(opts: PostgresStoreOptions) {
    this.where = parsePgUrl(opts.url, opts.schema);
    this.schema = this.where.schema;
    this.location = this.where.display;
    this.s = `"${this.schema}"`;
    this.channel = `runway_${this.schema}`;
    this.warn = opts.onWarning ?? ((m) => process.emitWarning(m, "RunwayWarning"));
    this.pool = new (loadPg().Pool)({
      ...this.where.config,
      max: opts.poolSize ?? 10,
      // runway's statements are prepared once per connection; planning them afresh on every run
      // (PostgreSQL's default for the first executions) costs more than running them.
      options: "-c plan_cache_mode=force_generic_plan",
    });
    // An idle pooled connection that dies (server restart, pg_terminate_backend) is dropped by
    // the pool; without a listener its error would crash the process.
    this.pool.on("error", () => {});
    // The same for a connection this store holds between two queries: the next query fails
    // and is retried; the event itself must not crash the process.
    this.pool.on("connect", (client) => client.on("error", () => {}));
    this.listener = new PgListener(this.where.config, this.channel, opts.pollIntervalMs ?? 500, this.warn);
    this.ready = migrate(this.pool, this.schema).catch((err) => {
      throw err instanceof RunwayError ? err : explainPgError(err, this.where);
    });
    // Callers see the failure on their first call; an unobserved rejection must not crash the process first.
    this.ready.catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.ready.catch(() => {});
    await this.pool.end();
  }

  watch(onChange: () => void): () => void {
    return this.listener.subscribe(onChange);
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private t(name: string): string {
    return `${this.s}.${name}`;
  }

  private async q<R extends pg.QueryResultRow = any>(c: Q, text: string, values: unknown[] = []): Promise<R[]> {
    return (await c.query<R>(text, values)).rows;
  }

  /**
   * Runs `fn` on a pooled connection of its own. A connection that failed under it is dropped
   * rather than reused; `onError` may clean up first (say, roll back). Failures become one clear error.
   */
  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>, onError?: (c: pg.PoolClient) => Promise<void>): Promise<T> {
    await this.ready;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.wrap(err);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      broken = isTransient(err);
      if (!broken && onError) await onError(client).catch(() => (broken = true));
      throw this.wrap(err);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `fn` in a transaction. `notify`: wake the other workers when this commits. "ask" leaves
   * it to `fn`, which calls wake() when the change frees or creates work; waking every worker on
   * every completion would send them all to claim at once for nothing.
   */
  private tx<T>(fn: (c: pg.PoolClient, wake: () => void) => Promise<T>, opts: { notify?: boolean | "ask" } = {}): Promise<T> {
    return this.withClient(
      async (client) => {
        await client.query("BEGIN");
        let woken = opts.notify === undefined || opts.notify === true;
        const result = await fn(client, () => (woken = true));
        if (woken) await client.query("SELECT pg_notify($1, '')", [this.channel]);
        await client.query("COMMIT");
        return result;
      },
      async (client) => void (await client.query("ROLLBACK")),
    );
  }

  /**
   * One statement on its own (atomic without a transaction around it): one round trip. Hot
   * statements pass a `name`, so each connection parses and plans them once.
   */
  private async exec<R extends pg.QueryResultRow = any>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    await this.ready;
    try {
      return (await this.pool.query<R>(name ? { name: this.named(name), text, values } : { text, values })).rows;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private async execRaw(text: string, values: unknown[], name: string): Promise<pg.QueryResult<any[]>> {
    await this.ready;
    try {
      return await this.pool.query({ name: this.named(name), text, values, rowMode: "array" });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Prepared-statement names are per connection and the SQL names the schema, so the name does too. */
  private named(name: string): string {
    return `runway:${this.schema}:${name}`;
  }

  private read<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    return this.withClient(fn);
  }


  /** Keeps runway's own errors; turns a server's trouble into a StoreUnavailableError that says what happened. */
  private wrap(err: unknown): Error {
    if (err instanceof RunwayError) return err;
    const code = (err as { code?: string }).code;
    // Programming errors (SQL the server rejects) keep their detail; connection trouble gets a clear line.
    if (code && /^(22|23|42[^5]|42P)/.test(code)) return err as Error;
    return explainPgError(err, this.where);
  }

  private async row(c: Q, id: string, lock = false): Promise<JobRow | undefined> {
    return (await this.q<JobRow>(c, `SELECT * FROM ${this.t("jobs")} WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]))[0];
  }

  private async mustRow(c: Q, id: string, lock = false): Promise<JobRow> {
    const r = await this.row(c, id, lock);
    if (!r) throw new NotFoundError("job", id);
    return r;
  }

  private async mustQueue(c: Q, name: string): Promise<QueueRow> {
    const q = (await this.q<QueueRow>(c, `SELECT * FROM ${this.t("queues")} WHERE name = $1`, [name]))[0];
    if (!q) throw new NotFoundError("queue", name);
    return q;
  }

  private async ensureQueues(c: Q, queues: string[], now: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.t("queues")} (name, created_at) SELECT unnest($1::text[]), $2 ON CONFLICT (name) DO NOTHING`,
      [queues, now],
    );
  }

  private async recordAttempt(c: Q, r: JobRow, outcome: Attempt["outcome"], error: string | null, now: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.t("job_attempts")} (job_id, attempt, worker_id, started_at, finished_at, outcome, error, exit_code)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [r.id, r.attempts, r.worker_id, r.started_at ?? now, now, outcome, error, r.exit_code ?? null],
    );
  }

  /** Exit codes are written first, guarded like the rest, so the job and its attempt both carry them. */
  private async recordExitCodes(finishes: Finish[]): Promise<void> {
    const withCodes = finishes.filter(
      (f): f is Extract<Finish, { exitCode?: number | null }> => (f.outcome === "completed" || f.outcome === "failed") && f.exitCode !== undefined,
    );
    if (withCodes.length === 0) return;
    await this.exec(
      `UPDATE ${this.t("jobs")} j SET exit_code = v.code FROM unnest($1::text[], $2::bigint[], $3::int[]) AS v(id, token, code)
       WHERE j.id = v.id AND j.lease_token = v.token AND ${stillRunning("j")}`,
      [withCodes.map((f) => f.id), withCodes.map((f) => f.token), withCodes.map((f) => f.exitCode ?? null)],
    );
  }

  private async rules(c: Q): Promise<EscalationRule[]> {
    return (await this.q<RuleRow>(c, `SELECT * FROM ${this.t("escalation_rules")}`)).map(toRule);
  }

  // ---------------------------------------------------------------------------------------
  // Adding

  async jobAddMany(params: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<AddResult[]> {
    const now = params.now ?? Date.now();
    this.countAdded(params.jobs.length);
    if (params.client) {
      // The caller's transaction: the jobs exist only if it commits, and so does the wake-up.
      await this.ready;
      const c = params.client as pg.PoolClient;
      const results = await this.addInTransaction(c, params.jobs, now);
      await c.query("SELECT pg_notify($1, '')", [this.channel]);
      return results;
    }
    if (params.jobs.every((j) => j.key === null && j.dependsOn.length === 0 && j.target === null)) return this.addPlain(params.jobs, now);
    return this.tx((c) => this.addInTransaction(c, params.jobs, now));
  }

  /**
   * The claim's plan rests on the table's statistics. A table filled fast (a bulk load, a burst)
   * outgrows them long before autovacuum's next look (a minute or more), and the planner, told a
   * queue holds a handful of rows, sorts all of them for every claim: 100,000 waiting jobs made a
   * claim of 500 take 100 ms instead of 2. So once the jobs added since the last look pass a fifth
   * of the table (and 10,000), this process refreshes the statistics itself, in the background.
   */
  private countAdded(n: number): void {
    this.addedSinceAnalyze += n;
    if (this.analyzing || this.addedSinceAnalyze < Math.max(10_000, this.rowsAtAnalyze / 5)) return;
    this.analyzing = true;
    const added = this.addedSinceAnalyze;
    this.addedSinceAnalyze = 0;
    void this.exec<{ n: number }>(`ANALYZE ${this.t("jobs")}`)
      .then(() => this.exec<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass", [this.t("jobs")]))
      .then((r) => (this.rowsAtAnalyze = Math.max(0, Number(r[0]?.n ?? 0))))
      .catch(() => (this.addedSinceAnalyze += added))
      .finally(() => (this.analyzing = false));
  }

  /**
   * Plain jobs (no key, no dependencies) cannot clash or wait: one INSERT over arrays takes them
   * all. Returns the statement, so it can run inside a transaction or, with the queue rows and
   * the wake-up folded in, as a single statement of its own.
   */
  private plainInsert(jobs: NewJob[], plain: number[], positions: number[], now: number, results: AddResult[], statusOf: Map<string, { status: JobStatus; skippedBy: string | null }>) {
    const cols: unknown[][] = Array.from({ length: 15 }, () => []);
    for (const i of plain) {
      const j = jobs[i]!;
      const status = j.runAt > now ? "scheduled" : "queued";
      if (status === "scheduled") this.scheduledAt(j.runAt);
      statusOf.set(j.id, { status, skippedBy: null });
      results[i] = { job: jobFromNew(j, { status, position: positions[i]!, now, dependsOn: [], reason: null }), created: true };
      const v = [j.id, j.queue, j.kind, j.payloadJson, status, j.priority, positions[i], j.name, JSON.stringify(j.labels),
        j.maxAttempts, JSON.stringify(j.backoff), j.timeoutMs, j.runAt, j.escalatedFrom, j.target];
      v.forEach((x, k) => cols[k]!.push(x));
    }
    const sql = `INSERT INTO ${this.t("jobs")} (id, queue, kind, payload, status, priority, position, name, labels, max_attempts, backoff, timeout_ms, run_at, escalated_from, target, created_at)
       SELECT *, $16::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::float8[],
         $8::text[], $9::text[], $10::int[], $11::text[], $12::bigint[], $13::bigint[], $14::text[], $15::text[])`;
    return { sql, values: [...cols, now] };
  }

  private async addPlain(jobs: NewJob[], now: number): Promise<AddResult[]> {
    const results: AddResult[] = new Array(jobs.length);
    const ins = this.plainInsert(jobs, jobs.map((_, i) => i), jobs.map(() => nextPosition(now)), now, results, new Map());
    await this.exec(
      `WITH q AS (INSERT INTO ${this.t("queues")} (name, created_at) SELECT DISTINCT unnest($17::text[]), $16::bigint ON CONFLICT (name) DO NOTHING),
       ins AS (${ins.sql})
       SELECT pg_notify($18, '')`,
      [...ins.values, [...new Set(jobs.map((j) => j.queue))], this.channel],
      "add",
    );
    return results;
  }

  private async addInTransaction(c: Q, jobs: NewJob[], now: number): Promise<AddResult[]> {
    await this.ensureQueues(c, [...new Set(jobs.map((j) => j.queue))], now);
    const targets = targetsOf(jobs);
    if (targets.length > 0) {
      const known = new Set((await this.q<{ name: string }>(c, `SELECT name FROM ${this.t("targets")} WHERE name = ANY($1::text[]) FOR SHARE`, [targets])).map((r) => r.name));
      const missing = targets.find((t) => !known.has(t));
      if (missing !== undefined) throw new NotFoundError("target", missing);
    }
    const positions = jobs.map(() => nextPosition(now));
    const results: AddResult[] = new Array(jobs.length);
    const statusOf = new Map<string, { status: JobStatus; skippedBy: string | null }>();
    const plain: number[] = [];
    const rest: NewJob[] = [];
    jobs.forEach((j, i) => (j.key === null && j.dependsOn.length === 0 ? plain.push(i) : rest.push(j)));
    if (plain.length > 0) {
      const ins = this.plainInsert(jobs, plain, positions, now, results, statusOf);
      await c.query(ins.sql, ins.values);
    }
    if (rest.length === 0) return results;
    const index = new Map(jobs.map((j, i) => [j.id, i]));
    const stored = storedDependencies(jobs);
    if (stored.length > 0) {
      const rows = await this.q<{ id: string; status: JobStatus; skipped_by: string | null }>(
        c,
        `SELECT id, status, skipped_by FROM ${this.t("jobs")} WHERE id = ANY($1::text[])`,
        [stored],
      );
      for (const r of rows) statusOf.set(r.id, { status: r.status, skippedBy: r.skipped_by });
    }
    // A job of the batch deduplicated onto an existing one: dependents follow the existing one.
    const alias = new Map<string, string>();
    for (const k of topologicalOrder(rest)) {
      const job = rest[k]!;
      const i = index.get(job.id)!;
      const deps = job.dependsOn.map((d) => alias.get(d) ?? d);
      const place = placeDependent({ job, field: jobs.length === 1 ? "job" : `jobs[${i}]`, deps, known: statusOf, now });
      if (place.status === "scheduled") this.scheduledAt(job.runAt);
      if (!(await this.insertJob(c, newJobRow(job, { ...place, position: positions[i]!, deps, now })))) {
        const existing = (
          await this.q<JobRow>(c, `SELECT * FROM ${this.t("jobs")} WHERE queue = $1 AND unique_key = $2 AND status IN ${ACTIVE_SQL}`, [
            job.queue,
            job.key,
          ])
        )[0]!;
        alias.set(job.id, existing.id);
        statusOf.set(existing.id, { status: existing.status, skippedBy: existing.skipped_by });
        results[i] = { job: toJob(existing), created: false };
        continue;
      }
      if (deps.length > 0) {
        await c.query(
          `INSERT INTO ${this.t("job_deps")} (job_id, depends_on) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
          [job.id, deps],
        );
      }
      statusOf.set(job.id, { status: place.status, skippedBy: place.root });
      results[i] = { job: jobFromNew(job, { status: place.status, position: positions[i]!, now, dependsOn: deps, reason: place.reason }), created: true };
    }
    return results;
  }

  /** Inserts one job; false when its unique key is already held by an active job. */
  private async insertJob(c: Q, v: Record<string, unknown>): Promise<boolean> {
    const cols = Object.keys(v);
    const sql = `INSERT INTO ${this.t("jobs")} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})
      ${v.unique_key === null ? "" : `ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN ${ACTIVE_SQL} DO NOTHING`}`;
    return ((await c.query(sql, Object.values(v))).rowCount ?? 0) > 0;
  }

  // ---------------------------------------------------------------------------------------
  // Claiming and leases

  async jobClaim(params: ClaimParams): Promise<ClaimResult> {
    if (params.limit + (params.prefetch ?? 0) <= 0) return { jobs: [], nextRunAt: null };
    const now = params.now ?? Date.now();
    await this.promoteDue(now);
    if (params.target) return this.claimForTarget(params, params.target, now);
    // Queues without a limit: one statement, no transaction, no lock but the rows' own.
    const free = this.mayHaveUnlimited(params) ? await this.claimUnlimited(params, params.limit + (params.prefetch ?? 0), now) : [];
    return this.claimLimitedAndFinish(params, free, now);
  }

  /**
   * The drain's cycle in one round trip: completions and the next claim from queues without a
   * limit share one statement (disjoint rows: the completed ones are running, the claimed ones
   * queued). Anything else takes the general path.
   */
  async jobFinishAndClaim(params: { finishes: Finish[]; claim: ClaimParams; now?: number }): Promise<ClaimResult & { outcomes: FinishOutcome[] }> {
    const now = params.now ?? Date.now();
    const finishes = params.finishes;
    const wanted = params.claim.limit + (params.claim.prefetch ?? 0);
    if (!finishes.every((f) => f.outcome === "completed") || wanted <= 0 || params.claim.target) {
      const outcomes = await this.jobFinishMany({ finishes, now, returnJobs: false });
      const claimed = wanted > 0 ? await this.jobClaim({ ...params.claim, now }) : { jobs: [], nextRunAt: null };
      return { outcomes, ...claimed };
    }
    await this.promoteDue(now);
    await this.recordExitCodes(finishes);
    const claim = params.claim;
    const completes = finishes as CompletedFinish[];
    const sql = `WITH f AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f(id, token, result)),
       ${this.completeCtes("$4")},
       ${this.claimCtes({ queues: "$5", n: "$6", kinds: "$9" })},
       claimed AS (
         UPDATE ${this.t("jobs")} j SET status = 'running', attempts = attempts + 1, lease_token = (SELECT nextval('${this.schema}.lease_token')),
           lease_expires_at = $7, worker_id = $8, started_at = $4, abort_requested = NULL, exit_code = NULL
         WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
         RETURNING ${JOB_COLUMNS.split(", ").map((col) => `j.${col}`).join(", ")}, j.lease_token)
       SELECT ${this.completeSummary()},
              (SELECT json_agg(json_build_array(${JOB_COLUMNS}, lease_token)) FROM claimed) AS claimed,
              -- A slot of a limited queue freed: the other workers are woken here rather than by a round trip of its own.
              (SELECT pg_notify($10, '') FROM ${this.t("queues")} WHERE concurrency IS NOT NULL AND name IN (SELECT queue FROM done) LIMIT 1) AS notified`;
    const values = [
        completes.map((f) => f.id),
        completes.map((f) => f.token),
        completes.map((f) => (f.result === undefined ? null : encodePayload(f.result, "result"))),
        now,
        claim.queues ?? null,
        claim.limit + (claim.prefetch ?? 0),
        now + claim.leaseMs,
        claim.workerId,
        claim.kinds ?? null,
        this.channel,
    ];
    type Row = { ids: string[] | null; waiting: string[] | null; limited: boolean | null; claimed: unknown[][] | null };
    const toClaimed = (r: Row | undefined) => (r?.claimed ?? []).map((row) => ({ job: toJobRaw(row), token: Number(row[row.length - 1]) }));
    // Queues with a limit are claimed in a transaction of their own, after this one commits: a
    // claim joined to the completions would always refill the slots they free before any other
    // worker heard of them, and one worker would keep a limited queue to itself.
    const r = await this.exec<Row>(sql, values, "finish_claim");
    const outcomes = await this.afterComplete(completes, r[0] && { ...r[0], limited: false }, now);
    return { outcomes, ...(await this.claimLimitedAndFinish(claim, toClaimed(r[0]), now)) };
  }

  /** A target's lane: every running queue in turn, each claim under the target's lock (and the queue's, when it has a limit). */
  private async claimForTarget(params: ClaimParams, target: string, now: number): Promise<ClaimResult> {
    // Only the running queues that hold a waiting job of this target: a lane wakes on every change, and most find nothing.
    const rows = await this.exec<{ name: string }>(
      `SELECT name FROM ${this.t("queues")} WHERE state = 'running' AND ($1::text[] IS NULL OR name = ANY($1::text[]))
         AND name IN (SELECT DISTINCT queue FROM ${this.t("jobs")} WHERE target = $2 AND status = 'queued')
       ORDER BY name`,
      [params.queues ?? null, target],
    );
    const claimed: ClaimedJob[] = [];
    const start = rows.length ? this.roundRobin++ % rows.length : 0;
    for (let k = 0; k < rows.length && claimed.length < params.limit; k++) {
      claimed.push(...(await this.claimLimited(rows[(start + k) % rows.length]!.name, params, params.limit - claimed.length, now, target)));
    }
    if (claimed.length > 1) claimed.sort((a, b) => claimOrder(a.job, b.job));
    return { jobs: claimed, nextRunAt: null };
  }

  /** Tops up a claim from queues with a limit, and says when the next scheduled job falls due if nothing was found. */
  private async claimLimitedAndFinish(params: ClaimParams, claimed: ClaimedJob[], now: number): Promise<ClaimResult> {
    for (let pass = 0; pass < 2; pass++) {
      // A second pass with fresh queue names when the first found nothing: a queue made a moment ago.
      const cached = this.limitedCache !== null && Date.now() - this.limitedCache.at < 1000;
      if (pass === 1) {
        if (claimed.length > 0 || !cached) break;
        this.limitedCache = null;
      }
      const limited = (await this.limitedQueues()).filter((q) => !params.queues || params.queues.includes(q));
      if (limited.length > 0 && claimed.length < params.limit) claimed.push(...(await this.claimLimitedMany(params, params.limit - claimed.length, now)));
    }
    if (claimed.length > 1) claimed.sort((a, b) => claimOrder(a.job, b.job));
    let nextRunAt: number | null = null;
    if (claimed.length === 0) {
      nextRunAt = (await this.exec<{ t: number | null }>(`SELECT min(run_at) AS t FROM ${this.t("jobs")} WHERE status = 'scheduled'`))[0]?.t ?? null;
      if (nextRunAt !== null) this.nextDueAt = Math.min(this.nextDueAt, nextRunAt);
    }
    return { jobs: claimed, nextRunAt };
  }

  /** CTE `done`: complete the rows of CTE `f` (id, token, result); the attempt is read back from the job row. */
  private completeCtes(now: string): string {
    return `done AS (
         UPDATE ${this.t("jobs")} j SET status = 'completed', result = f.result, error = NULL, reason = NULL, finished_at = ${now},
           lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
         FROM f WHERE j.id = f.id AND j.lease_token = f.token AND ${stillRunning("j")}
         RETURNING j.id, j.queue)`;
  }

  /** What a batch of completions leaves to do: which ones took, which had dependents, whether a limited queue got a slot back. */
  private completeSummary(): string {
    return `(SELECT array_agg(id) FROM done) AS ids,
       (SELECT array_agg(DISTINCT depends_on) FROM ${this.t("job_deps")} WHERE depends_on IN (SELECT id FROM done)) AS waiting,
       (SELECT bool_or(concurrency IS NOT NULL) FROM ${this.t("queues")} WHERE name IN (SELECT queue FROM done)) AS limited`;
  }

  /**
   * CTEs `qs` and `cand`: the next jobs, in claim order, of the running queues without a limit.
   * The UPDATE that follows finds the rows as `id = ANY(ARRAY(SELECT id FROM cand))`, never as a
   * join on cand: once the statistics say the table is big, the planner hashes a join by reading
   * all of it (20,000 waiting jobs: 16 ms a claim instead of 0.3).
   */
  private claimCtes(p: { queues: string; n: string; kinds: string }): string {
    return `qs AS (
         SELECT name FROM ${this.t("queues")}
         WHERE state = 'running' AND concurrency IS NULL AND (${p.queues}::text[] IS NULL OR name = ANY(${p.queues}::text[]))),
       cand AS (
         SELECT c.id FROM qs CROSS JOIN LATERAL (
           SELECT id, priority, position FROM ${this.t("jobs")}
           WHERE queue = qs.name AND status = 'queued' AND target IS NULL AND (${p.kinds}::text[] IS NULL OR kind = ANY(${p.kinds}::text[]))
           ORDER BY priority, position, id LIMIT ${p.n}::int FOR UPDATE SKIP LOCKED) c
         ORDER BY c.priority, c.position, c.id LIMIT ${p.n}::int)`;
  }

  private async afterComplete(
    finishes: CompletedFinish[],
    r: { ids: string[] | null; waiting: string[] | null; limited: boolean | null } | undefined,
    now: number,
  ): Promise<FinishOutcome[]> {
    const ok = new Set(r?.ids ?? []);
    const waiting = r?.waiting ?? [];
    // Rare: jobs waited on these. Unblocking them reads several rows, so it gets a transaction.
    if (waiting.length > 0) await this.tx(async (t) => { for (const id of waiting) await this.unblockDependents(t, id, now); });
    // Others need waking only for work this frees: a slot of a limited queue, or jobs that waited on these.
    else if (r?.limited) await this.exec("SELECT pg_notify($1, '')", [this.channel]);
    return finishes.map((f) => ({ id: f.id, ok: ok.has(f.id), status: ok.has(f.id) ? "completed" : null, retryAt: null, escalatedTo: null, job: null }));
  }

  /** Scheduled jobs whose time has come become queued; runs when one is known to be due, and at least once a second. */
  private async promoteDue(now: number): Promise<void> {
    if (now < this.nextDueAt && now - this.lastPromote < 1000) return;
    this.lastPromote = now;
    this.nextDueAt = Number.POSITIVE_INFINITY;
    const r = await this.exec<{ n: number; next: number | null }>(
      `WITH p AS (UPDATE ${this.t("jobs")} SET status = 'queued' WHERE status = 'scheduled' AND run_at <= $1 RETURNING 1)
       SELECT (SELECT count(*)::int FROM p) AS n,
              (SELECT min(run_at) FROM ${this.t("jobs")} WHERE status = 'scheduled' AND run_at > $1) AS next`,
      [now],
    );
    if (r[0]?.next != null) this.nextDueAt = r[0].next;
    if ((r[0]?.n ?? 0) > 0) await this.exec("SELECT pg_notify($1, '')", [this.channel]);
  }

  /** Running queues with a limit, refreshed every second (the claim re-checks each one under its lock). */
  private async limitedQueues(): Promise<string[]> {
    const now = Date.now();
    if (this.limitedCache && now - this.limitedCache.at < 1000) return this.limitedCache.names;
    const rows = await this.exec<{ name: string; limited: boolean }>(
      `SELECT name, concurrency IS NOT NULL AS limited FROM ${this.t("queues")} WHERE state = 'running' ORDER BY name`,
    );
    this.limitedCache = { at: now, names: rows.filter((r) => r.limited).map((r) => r.name) };
    return this.limitedCache.names;
  }

  /** False when every queue asked for is known to have a limit: the claim over queues without one would find nothing. */
  private mayHaveUnlimited(params: ClaimParams): boolean {
    const c = this.limitedCache;
    if (!c || !params.queues || Date.now() - c.at >= 1000) return true;
    return params.queues.some((q) => !c.names.includes(q));
  }

  private claimSet(): string {
    return `status = 'running', attempts = attempts + 1, lease_token = (SELECT nextval('${this.schema}.lease_token')),
      lease_expires_at = $3, worker_id = $4, started_at = $5, abort_requested = NULL, exit_code = NULL`;
  }

  private async claimUnlimited(params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
    const res = await this.execRaw(
      `WITH ${this.claimCtes({ queues: "$1", n: "$2", kinds: "$6" })}
       UPDATE ${this.t("jobs")} j SET ${this.claimSet()}
       WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
       RETURNING ${JOB_COLUMNS.split(", ").map((col) => `j.${col}`).join(", ")}, j.lease_token`,
      [params.queues ?? null, n, now + params.leaseMs, params.workerId, now, params.kinds ?? null],
      "claim",
    );
    return this.withTokens(res);
  }

  /** The pick and the claim of `claimLimitedMany`; their text depends only on the schema. */
  private limitedClaimSql(): { pick: string; claim: string } {
    // The queues in name order, probed lazily (OFFSET 0 keeps the planner from probing them all before sorting).
    const look = (range: string) => `(SELECT q.name FROM (
          SELECT name, concurrency FROM ${this.t("queues")}
          WHERE state = 'running' AND concurrency IS NOT NULL AND ${range} AND ($2::text[] IS NULL OR name = ANY($2::text[]))
          ORDER BY name OFFSET 0) q
        WHERE EXISTS (SELECT 1 FROM ${this.t("jobs")} WHERE queue = q.name AND status = 'queued' AND target IS NULL AND ($3::text[] IS NULL OR kind = ANY($3::text[])))
          AND (SELECT count(*) FROM ${this.t("jobs")} WHERE queue = q.name AND status = 'running') < q.concurrency
        LIMIT $4::int)`;
    const pick = `WITH c AS MATERIALIZED (
          SELECT name, 0 AS part FROM ${look("name > $1")} a
          UNION ALL SELECT name, 1 AS part FROM ${look("name <= $1")} b),
        first AS (SELECT name, part FROM c ORDER BY part, name LIMIT $4::int)
      SELECT name FROM first WHERE pg_try_advisory_xact_lock(hashtext($5 || name)) ORDER BY part, name`;
    const claim = `WITH q AS (
          SELECT q.name, q.concurrency FROM unnest($1::text[]) AS n(name) JOIN ${this.t("queues")} q ON q.name = n.name
          WHERE q.state = 'running' AND q.concurrency IS NOT NULL),
        cand AS (
          SELECT c.id FROM q CROSS JOIN LATERAL (
            SELECT id, priority, position FROM ${this.t("jobs")}
            WHERE queue = q.name AND status = 'queued' AND target IS NULL AND ($2::text[] IS NULL OR kind = ANY($2::text[]))
            ORDER BY priority, position, id
            LIMIT greatest(0, q.concurrency - (SELECT count(*) FROM ${this.t("jobs")} WHERE queue = q.name AND status = 'running'))
            FOR UPDATE SKIP LOCKED) c
          ORDER BY c.priority, c.position, c.id LIMIT $3::int)
      UPDATE ${this.t("jobs")} j SET status = 'running', attempts = attempts + 1, lease_token = (SELECT nextval('${this.schema}.lease_token')),
        lease_expires_at = $4, worker_id = $5, started_at = $6, abort_requested = NULL, exit_code = NULL
      WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
      RETURNING ${JOB_COLUMNS.split(", ").map((col) => `j.${col}`).join(", ")}, j.lease_token`;
    return { pick, claim };
  }

  /**
   * Up to `n` jobs from queues with a limit, in one transaction however many queues there are.
   * The first statement picks the running queues that hold a job for this claim and have a slot
   * free, in name order after the last one served and no more than `n` of them (each gives at
   * least one job), and takes each one's advisory lock without waiting (the same lock as
   * `claimLimited`; a queue whose lock another claimer holds is left to it). The claim, a
   * separate statement and so on a snapshot taken after the locks, re-counts each locked queue's
   * running jobs and takes what its limit leaves. Both are prepared: planning them anew each time
   * cost more than running them.
   */
  private claimLimitedMany(params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
    return this.withClient(
      async (client) => {
        await client.query("BEGIN");
        const claimed = await this.claimLimitedIn(client, params, n, now);
        await client.query("COMMIT");
        return claimed;
      },
      async (client) => void (await client.query("ROLLBACK")),
    );
  }

  /** The two statements of `claimLimitedMany`, inside a transaction the caller holds. */
  private async claimLimitedIn(client: pg.PoolClient, params: ClaimParams, n: number, now: number): Promise<ClaimedJob[]> {
    const { pick, claim } = this.limitedClaimSql();
    const picked = await client.query<{ name: string }>({
      name: this.named("claim_pick"),
      text: pick,
      values: [this.lastLimited, params.queues ?? null, params.kinds ?? null, n, `runway:claim:${this.schema}:`],
    });
    const names = picked.rows.map((r) => r.name);
    if (names.length === 0) return [];
    this.lastLimited = names[names.length - 1]!;
    const res = await client.query({
      name: this.named("claim_limited"),
      text: claim,
      values: [names, params.kinds ?? null, n, now + params.leaseMs, params.workerId, now],
      rowMode: "array",
    });
    return this.withTokens(res as unknown as pg.QueryResult<any[]>);
  }

  /**
   * One claimer at a time per limited queue, in one round trip. The first statement takes an
   * advisory lock named after the queue without waiting (a worker that cannot have it skips the
   * queue: no deadlock, no queueing behind each other) and records whether it got it; the claim,
   * a separate statement and so on a snapshot taken after the lock, counts the queue's running
   * jobs, sees every claim committed before, and takes nothing unless the lock was got.
   * Values are inlined as escaped literals: a simple query can carry several statements.
   */
  private claimLimited(queue: string, params: ClaimParams, n: number, now: number, target: string | null = null): Promise<ClaimedJob[]> {
    return this.withClient(
      async (client) => {
        const lit = (v: string) => client.escapeLiteral(v);
        const q = lit(queue);
        const key = lit(`runway:claim:${this.schema}:${queue}`);
        const kinds = params.kinds ? `ARRAY[${params.kinds.map(lit).join(", ") || "NULL"}]::text[]` : "NULL::text[]";
        const num = (v: number) => String(Math.trunc(v));
        const t = target === null ? null : lit(target);
        // A target's lane holds the target's lock as well, and takes a job whose run is still open (to adopt it) first.
        const lock = t === null ? `pg_try_advisory_xact_lock(hashtext(${key}))` : `pg_try_advisory_xact_lock(hashtext(${key})) AND pg_try_advisory_xact_lock(hashtext(${lit(`runway:target:${this.schema}:${target}`)}))`;
        const sql = `BEGIN;
          SELECT set_config('runway.claim_lock', (${lock})::text, true);
          WITH cand AS (
            SELECT id FROM ${this.t("jobs")}
            WHERE queue = ${q} AND status = 'queued' AND (${kinds} IS NULL OR kind = ANY(${kinds}))
              AND ${t === null ? "target IS NULL" : `target = ${t}`}
            ORDER BY ${t === null ? "" : "coalesce((remote::json->>'attempt')::int = attempts + 1, false) DESC, "}priority, position, id
            LIMIT CASE WHEN current_setting('runway.claim_lock', true) = 'true' THEN greatest(0, least(${num(n)},
              coalesce((SELECT coalesce(concurrency, 1000000000) FROM ${this.t("queues")} WHERE name = ${q} AND state = 'running'), 0)
              - (SELECT count(*) FROM ${this.t("jobs")} WHERE queue = ${q} AND status = 'running')
              ${t === null ? "" : `, coalesce((SELECT concurrency FROM ${this.t("targets")} WHERE name = ${t}), 0)
              - (SELECT count(*) FROM ${this.t("jobs")} WHERE target = ${t} AND status = 'running')`})) ELSE 0 END
            FOR UPDATE SKIP LOCKED)
          UPDATE ${this.t("jobs")} j SET status = 'running', attempts = attempts + 1, lease_token = (SELECT nextval('${this.schema}.lease_token')),
            lease_expires_at = ${num(now + params.leaseMs)}, worker_id = ${lit(params.workerId)}, started_at = ${num(now)}, abort_requested = NULL, exit_code = NULL
          WHERE j.id = ANY(ARRAY(SELECT id FROM cand))
          RETURNING ${JOB_COLUMNS.split(", ").map((col) => `j.${col}`).join(", ")}, j.lease_token;
          COMMIT;`;
        const results = (await client.query({ text: sql, rowMode: "array" })) as unknown as pg.QueryResult<any[]>[];
        return this.withTokens(results[2]!);
      },
      async (client) => void (await client.query("ROLLBACK")),
    );
  }

  /** Claimed rows come back as arrays: the job's columns, then its fencing token. */
  private withTokens(res: pg.QueryResult<any[]>): ClaimedJob[] {
    return res.rows.map((row: unknown[]) => ({ job: toJobRaw(row), token: Number(row[row.length - 1]) }));
  }

  /** This process scheduled something: promotion must not wait for its once-a-second look. */
  private scheduledAt(runAt: number): void {
    this.nextDueAt = Math.min(this.nextDueAt, runAt);
  }

  async jobHeartbeat(params: { leases: Lease[]; leaseMs: number; now?: number }): Promise<LeaseStatus[]> {
    const now = params.now ?? Date.now();
    if (params.leases.length === 0) return [];
    {
      const rows = await this.exec<{ id: string; abort_requested: LeaseStatus["abort"] }>(
        `UPDATE ${this.t("jobs")} j SET lease_expires_at = $3
         FROM unnest($1::text[], $2::bigint[]) AS l(id, token)
         WHERE j.id = l.id AND j.lease_token = l.token AND ${stillRunning("j")}
         RETURNING j.id, j.abort_requested`,
        [params.leases.map((l) => l.id), params.leases.map((l) => l.token), now + params.leaseMs],
      );
      return this.leaseStatuses(params.leases, rows);
    }
  }

  async jobLeaseCheck(params: { leases: Lease[] }): Promise<LeaseStatus[]> {
    if (params.leases.length === 0) return [];
    return this.read(async (c) => {
      const rows = await this.q<{ id: string; abort_requested: LeaseStatus["abort"] }>(
        c,
        `SELECT j.id, j.abort_requested FROM ${this.t("jobs")} j
         JOIN unnest($1::text[], $2::bigint[]) AS l(id, token) ON j.id = l.id AND j.lease_token = l.token
         WHERE j.status = 'running'`,
        [params.leases.map((l) => l.id), params.leases.map((l) => l.token)],
      );
      return this.leaseStatuses(params.leases, rows);
    });
  }

  private leaseStatuses(leases: Lease[], rows: { id: string; abort_requested: LeaseStatus["abort"] }[]): LeaseStatus[] {
    const byId = new Map(rows.map((r) => [r.id, r.abort_requested]));
    return leases.map((l) => ({ id: l.id, ok: byId.has(l.id), abort: byId.get(l.id) ?? null }));
  }

  async jobProgress(params: { id: string; token: number; progress: unknown }): Promise<boolean> {
    const json = encodePayload(params.progress, "progress");
    const rows = await this.exec(
      `UPDATE ${this.t("jobs")} SET progress = $1 WHERE id = $2 AND lease_token = $3 AND ${stillRunning()} RETURNING 1`,
      [json, params.id, params.token],
    );
    return rows.length > 0;
  }

  async jobRemoteSet(params: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean> {
    const rows = await this.exec(
      `UPDATE ${this.t("jobs")} SET remote = $1 WHERE id = $2 AND lease_token = $3 AND ${stillRunning()} RETURNING 1`,
      [params.remote === null ? null : JSON.stringify(params.remote), params.id, params.token],
    );
    return rows.length > 0;
  }

  async jobLogAppend(params: { lines: LogLine[] }): Promise<void> {
    if (params.lines.length === 0) return;
    const l = params.lines;
    await this.exec(
      `INSERT INTO ${this.t("job_logs")} (job_id, attempt, at, line) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[])`,
      [l.map((x) => x.jobId), l.map((x) => x.attempt), l.map((x) => x.at), l.map((x) => x.line)],
    );
  }

  // ---------------------------------------------------------------------------------------
  // Ending attempts, guarded by the lease token.

  async jobFinishMany(params: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<FinishOutcome[]> {
    const now = params.now ?? Date.now();
    const finishes = params.finishes;
    if (finishes.length === 0) return [];
    await this.recordExitCodes(finishes);
    const returnJobs = params.returnJobs ?? true;
    if (!returnJobs && finishes.every((f) => f.outcome === "completed")) {
      // The drain's hot path: one statement, atomic on its own, one round trip.
      return this.completeMany(null, finishes as CompletedFinish[], now);
    }
    return this.tx(
      async (c, wake) => {
        const rules = finishes.some((f) => f.outcome !== "completed") ? await this.rules(c) : [];
        const out: FinishOutcome[] = new Array(finishes.length);
        const completes: number[] = [];
        for (const [i, f] of finishes.entries()) {
          if (f.outcome === "completed" && !returnJobs) completes.push(i);
          else {
            out[i] = await this.finishOne(c, f, now, rules);
            wake();
          }
        }
        if (completes.length > 0) {
          const done = await this.completeMany(c, completes.map((i) => finishes[i]!) as CompletedFinish[], now);
          wake();
          done.forEach((o, k) => (out[completes[k]!] = o));
        }
        return out;
      },
      { notify: "ask" },
    );
  }

  /** Every completion of a batch in one statement (update, attempts, dependents found), not read back. */
  private async completeMany(c: Q | null, finishes: CompletedFinish[], now: number): Promise<FinishOutcome[]> {
    const sql = `WITH f AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f(id, token, result)),
       ${this.completeCtes("$4")}
       SELECT ${this.completeSummary()}`;
    const values = [
      finishes.map((f) => f.id),
      finishes.map((f) => f.token),
      finishes.map((f) => (f.result === undefined ? null : encodePayload(f.result, "result"))),
      now,
    ];
    type Summary = { ids: string[] | null; waiting: string[] | null; limited: boolean | null };
    if (!c) return this.afterComplete(finishes, (await this.exec<Summary>(sql, values, "complete"))[0], now);
    const r = (await this.q<Summary>(c, sql, values))[0];
    for (const id of r?.waiting ?? []) await this.unblockDependents(c, id, now);
    const ok = new Set(r?.ids ?? []);
    return finishes.map((f) => ({ id: f.id, ok: ok.has(f.id), status: ok.has(f.id) ? "completed" : null, retryAt: null, escalatedTo: null, job: null }));
  }

  async jobComplete(params: { id: string; token: number; result?: unknown; now?: number }): Promise<FinishOutcome> {
    const [o] = await this.jobFinishMany({ finishes: [{ id: params.id, token: params.token, outcome: "completed", result: params.result }], ...(params.now !== undefined ? { now: params.now } : {}) });
    return o!;
  }

  async jobFail(params: { id: string; token: number; error: string; retryable?: boolean; now?: number }): Promise<FinishOutcome> {
    const f: Finish = { id: params.id, token: params.token, outcome: "failed", error: params.error, ...(params.retryable !== undefined ? { retryable: params.retryable } : {}) };
    const [o] = await this.jobFinishMany({ finishes: [f], ...(params.now !== undefined ? { now: params.now } : {}) });
    return o!;
  }

  async jobRelease(params: { id: string; token: number; now?: number }): Promise<FinishOutcome> {
    const [o] = await this.jobFinishMany({ finishes: [{ id: params.id, token: params.token, outcome: "released" }], ...(params.now !== undefined ? { now: params.now } : {}) });
    return o!;
  }

  private async finishOne(c: Q, f: Finish, now: number, rules: EscalationRule[]): Promise<FinishOutcome> {
    const r = (
      await this.q<JobRow>(c, `SELECT * FROM ${this.t("jobs")} WHERE id = $1 AND lease_token = $2 AND ${stillRunning()} FOR UPDATE`, [f.id, f.token])
    )[0];
    if (!r) return { id: f.id, ok: false, status: null, retryAt: null, escalatedTo: null, job: null };
    if (f.outcome === "completed") return this.completeRow(c, r, f.result, now);
    if (f.outcome === "cancelled" || r.abort_requested === "cancel") {
      const error = f.outcome === "failed" || f.outcome === "cancelled" ? (f.error ?? "cancelled") : "cancelled";
      return this.endRow(c, r, "cancelled", error, now, "cancelled", "cancelled by request");
    }
    if (f.outcome === "released" || r.abort_requested === "requeue") return this.releaseRow(c, r, now);
    return this.failRow(c, r, f.error, { retryable: f.retryable ?? true, immediate: false, outcome: "failed" }, now, rules);
  }

  private async completeRow(c: Q, r: JobRow, result: unknown, now: number): Promise<FinishOutcome> {
    const json = result === undefined ? null : encodePayload(result, "result");
    const row = (
      await this.q<JobRow>(
        c,
        `UPDATE ${this.t("jobs")} SET status = 'completed', result = $1, error = NULL, reason = NULL, finished_at = $2,
           lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
         WHERE id = $3 RETURNING *`,
        [json, now, r.id],
      )
    )[0]!;
    await this.unblockDependents(c, r.id, now);
    return { id: r.id, ok: true, status: "completed", retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  private async endRow(
    c: Q,
    r: JobRow,
    status: "failed" | "cancelled",
    error: string,
    now: number,
    attemptOutcome: Attempt["outcome"],
    reason: string | null,
  ): Promise<FinishOutcome> {
    const row = (
      await this.q<JobRow>(
        c,
        `UPDATE ${this.t("jobs")} SET status = $1, error = $2, reason = $3, finished_at = $4,
           lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
         WHERE id = $5 RETURNING *`,
        [status, error, reason, now, r.id],
      )
    )[0]!;
    await this.recordAttempt(c, r, attemptOutcome, error, now);
    await this.skipDownstream(c, r.id, status, now);
    return { id: r.id, ok: true, status, retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  /** Back to the queue without counting the attempt (see the SQLite store for when). */
  private async releaseRow(c: Q, r: JobRow, now: number, outcome: "released" | "lost" = "released", error: string | null = null): Promise<FinishOutcome> {
    const row = (
      await this.q<JobRow>(
        c,
        `UPDATE ${this.t("jobs")} SET status = 'queued', attempts = greatest(0, attempts - 1), lease_token = NULL,
           lease_expires_at = NULL, abort_requested = NULL, worker_id = NULL, started_at = NULL, error = coalesce($1, error)
         WHERE id = $2 RETURNING *`,
        [error, r.id],
      )
    )[0]!;
    await this.recordAttempt(c, r, outcome, error, now);
    return { id: r.id, ok: true, status: "queued", retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  private async failRow(
    c: Q,
    r: JobRow,
    error: string,
    opts: { retryable: boolean; immediate: boolean; outcome: Attempt["outcome"] },
    now: number,
    rules: EscalationRule[],
  ): Promise<FinishOutcome> {
    const decision = decideFailure({
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      backoff: JSON.parse(r.backoff),
      rule: matchEscalation(rules, r),
      retryable: opts.retryable,
      immediate: opts.immediate,
      now,
    });
    if (decision.action === "fail") return this.endRow(c, r, "failed", error, now, opts.outcome, null);
    if (decision.action === "retry") {
      if (decision.status === "scheduled") this.scheduledAt(decision.runAt);
      const row = (
        await this.q<JobRow>(
          c,
          `UPDATE ${this.t("jobs")} SET status = $1, run_at = $2, error = $3, lease_token = NULL, lease_expires_at = NULL,
             abort_requested = NULL
           WHERE id = $4 RETURNING *`,
          [decision.status, decision.runAt, error, r.id],
        )
      )[0]!;
      await this.recordAttempt(c, r, opts.outcome, error, now);
      return { id: r.id, ok: true, status: decision.status, retryAt: decision.runAt, escalatedTo: null, job: toJob(row) };
    }
    const rule = decision.rule;
    const toQueue = rule.toQueue ?? r.queue;
    const toKind = rule.toKind ?? r.kind;
    const newId = newJobId(now);
    const reason = `escalated to ${newId} (${toKind} on ${toQueue}) after ${r.attempts} failed attempt${r.attempts === 1 ? "" : "s"}`;
    const row = (
      await this.q<JobRow>(
        c,
        `UPDATE ${this.t("jobs")} SET status = 'failed', error = $1, reason = $2, escalated_to = $3, finished_at = $4,
           lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
         WHERE id = $5 RETURNING *`,
        [error, reason, newId, now, r.id],
      )
    )[0]!;
    await this.recordAttempt(c, r, opts.outcome, error, now);
    await this.ensureQueues(c, [toQueue], now);
    await this.insertJob(c, {
      id: newId,
      queue: toQueue,
      kind: toKind,
      payload: r.payload,
      status: "queued",
      priority: r.priority,
      position: nextPosition(now),
      name: r.name,
      labels: r.labels,
      depends_on: "[]",
      max_attempts: r.max_attempts,
      backoff: r.backoff,
      timeout_ms: r.timeout_ms,
      unique_key: r.unique_key,
      run_at: now,
      escalated_from: r.id,
      // Targets run shell jobs: a successor of another kind runs where its handler is.
      target: toKind === "shell" ? r.target : null,
      created_at: now,
    });
    // Jobs that waited on this one now wait on its successor instead of being skipped.
    const dependents = (await this.q<{ job_id: string }>(c, `SELECT job_id FROM ${this.t("job_deps")} WHERE depends_on = $1`, [r.id])).map((d) => d.job_id);
    if (dependents.length > 0) {
      await c.query(
        `INSERT INTO ${this.t("job_deps")} (job_id, depends_on) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
        [dependents, newId],
      );
      await c.query(`DELETE FROM ${this.t("job_deps")} WHERE depends_on = $1`, [r.id]);
      await c.query(
        `UPDATE ${this.t("jobs")} j SET depends_on = (SELECT json_agg(depends_on ORDER BY depends_on)::text FROM ${this.t("job_deps")} d WHERE d.job_id = j.id)
         WHERE j.id = ANY($1::text[])`,
        [dependents],
      );
    }
    return { id: r.id, ok: true, status: "failed", retryAt: null, escalatedTo: newId, job: toJob(row) };
  }

  private async unblockDependents(c: Q, id: string, now: number): Promise<void> {
    // A dependent with a delay still ahead becomes scheduled; look for it soon.
    this.nextDueAt = Math.min(this.nextDueAt, now + 1);
    await c.query(
      `UPDATE ${this.t("jobs")} j SET status = CASE WHEN run_at > $2 THEN 'scheduled' ELSE 'queued' END
       WHERE status = 'blocked'
         AND id IN (SELECT job_id FROM ${this.t("job_deps")} WHERE depends_on = $1)
         AND NOT EXISTS (
           SELECT 1 FROM ${this.t("job_deps")} d JOIN ${this.t("jobs")} u ON u.id = d.depends_on
           WHERE d.job_id = j.id AND u.status <> 'completed')`,
      [id, now],
    );
  }

  private async skipDownstream(c: Q, root: string, rootStatus: JobStatus, now: number): Promise<string[]> {
    const verb = rootStatus === "skipped" ? "was skipped" : rootStatus;
    return (
      await this.q<{ id: string }>(
        c,
        `WITH RECURSIVE down(id) AS (
           SELECT d.job_id FROM ${this.t("job_deps")} d JOIN ${this.t("jobs")} j ON j.id = d.job_id
           WHERE d.depends_on = $1 AND j.status = 'blocked'
           UNION
           SELECT d.job_id FROM ${this.t("job_deps")} d JOIN down ON d.depends_on = down.id JOIN ${this.t("jobs")} j ON j.id = d.job_id
           WHERE j.status = 'blocked'
         )
         UPDATE ${this.t("jobs")} SET status = 'skipped', skipped_by = $1, reason = $2, finished_at = $3
         WHERE id IN (SELECT id FROM down)
         RETURNING id`,
        [root, `upstream job ${root} ${verb}`, now],
      )
    ).map((r) => r.id);
  }

  /**
   * Vacuums the jobs table every few seconds, one worker at a time (an advisory lock; the others
   * skip). Every job leaves two dead row versions behind (claimed, then finished); autovacuum
   * wakes at most once a minute by default, and in a two-minute add-and-drain run the dead rows
   * at the head of the claim index cut the drain from 15,000 to 5,000 jobs/s. Vacuumed every
   * 5 s it held at 13,500.
   */
  async storeMaintain(params: { now?: number }): Promise<void> {
    const now = params.now ?? Date.now();
    if (now - this.lastVacuum < 5000) return;
    this.lastVacuum = now;
    const key = `runway:vacuum:${this.schema}`;
    await this.withClient(async (client) => {
      const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [key]);
      if (!got.rows[0]?.ok) return;
      try {
        await client.query(`VACUUM ${this.t("jobs")}`);
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
      }
    });
  }

  maintenanceLeader(params: { onWarning?: (message: string) => void }): LeaderLease {
    return postgresMaintenanceLeader(this.where, params.onWarning ?? this.warn);
  }

  async jobReapExpired(params: { now?: number }): Promise<ReapResult> {
    const now = params.now ?? Date.now();
    const out: ReapResult = { requeued: [], failed: [], cancelled: [] };
    const expired = await this.read((c) =>
      this.q<{ id: string; lease_token: number }>(
        c,
        `SELECT id, lease_token FROM ${this.t("jobs")} WHERE status = 'running' AND lease_expires_at < $1 ORDER BY lease_expires_at LIMIT 500`,
        [now],
      ),
    );
    if (expired.length === 0) return out;
    await this.tx(async (c) => {
      const rules = await this.rules(c);
      for (const e of expired) {
        // Locked and re-checked: a completion that holds the row is skipped, one that committed first makes this match nothing.
        const r = (
          await this.q<JobRow>(
            c,
            `SELECT * FROM ${this.t("jobs")} WHERE id = $1 AND lease_token = $2 AND ${stillRunning()} AND lease_expires_at < $3
             FOR UPDATE SKIP LOCKED`,
            [e.id, e.lease_token, now],
          )
        )[0];
        if (!r) continue;
        let o: FinishOutcome;
        if (r.abort_requested === "cancel") o = await this.endRow(c, r, "cancelled", "cancelled", now, "lost", "cancelled by request");
        else if (r.abort_requested === "requeue") o = await this.releaseRow(c, r, now);
        // A job still running on a target lost only its watcher: the next lane adopts the run, at no cost.
        else if (remoteRunOpen(r.remote, r.attempts) || !(await this.lostBefore(c, r.id))) o = await this.releaseRow(c, r, now, "lost", LOST_ERROR);
        else o = await this.failRow(c, r, LOST_ERROR, { retryable: true, immediate: true, outcome: "lost" }, now, rules);
        if (o.status === "cancelled") out.cancelled.push(r.id);
        else if (o.status === "failed") out.failed.push(r.id);
        else out.requeued.push(r.id);
      }
    });
    return out;
  }

  private async lostBefore(c: Q, id: string): Promise<boolean> {
    return (await this.q(c, `SELECT 1 FROM ${this.t("job_attempts")} WHERE job_id = $1 AND outcome = 'lost' LIMIT 1`, [id])).length > 0;
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  async jobGet(params: { id: string }): Promise<Job | null> {
    const r = await this.read((c) => this.row(c, params.id));
    return r ? toJob(r) : null;
  }

  async jobList(params: JobListParams): Promise<Job[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (params.queue !== undefined) where.push(`queue = ${arg(params.queue)}`);
    if (params.kind !== undefined) where.push(`kind = ${arg(params.kind)}`);
    if (params.status?.length) {
      for (const st of params.status) {
        if (!(JOB_STATUSES as readonly string[]).includes(st)) {
          throw new ValidationError("status", `unknown status ${JSON.stringify(st)}; use one of ${JOB_STATUSES.join(", ")}`);
        }
      }
      // Written out (the names are checked above), so the planner can prove a phase's partial index applies.
      where.push(`status IN (${params.status.map((x) => `'${x}'`).join(", ")})`);
    }
    if (params.target !== undefined) where.push(`target = ${arg(params.target)}`);
    if (params.search) {
      const pattern = arg(`%${params.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      // The name and a shell job's command only: a payload's other fields (its environment) stay private.
      where.push(`(name ILIKE ${pattern} OR (payload::jsonb)->>'shell' ILIKE ${pattern} OR ((payload::jsonb)->'command')::text ILIKE ${pattern})`);
    }
    if (params.finishedSince !== undefined) where.push(`finished_at >= ${arg(params.finishedSince)}`);
    const order = params.order ?? "queue";
    return this.read(async (c) => {
      if (params.after !== undefined) {
        if (order === "recent") where.push(`id < ${arg(params.after)}`);
        else if (order === "added") where.push(`id > ${arg(params.after)}`);
        else if (order === "finished") {
          const cur = await this.mustRow(c, params.after);
          where.push(`(finished_at, id) > (${arg(cur.finished_at ?? 0)}::bigint, ${arg(cur.id)})`);
        } else {
          const cur = await this.mustRow(c, params.after);
          where.push(`(priority, position, id) > (${arg(cur.priority)}::smallint, ${arg(cur.position)}::float8, ${arg(cur.id)})`);
        }
      }
      const limit = Math.min(Math.max(params.limit ?? 100, 1), 10_000);
      const orderBy = { queue: "priority, position, id", recent: "id DESC", added: "id", finished: "finished_at, id" }[order];
      const rows = await this.q<JobRow>(
        c,
        `SELECT * FROM ${this.t("jobs")} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY ${orderBy} LIMIT ${arg(limit)}`,
        args,
      );
      return rows.map(toJob);
    });
  }

  async jobTimeline(params: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]> {
    const b = Math.max(1, Math.trunc(params.bucketMs));
    const rows = await this.exec<{ at: string; completed: number; failed: number; mean: number | null }>(
      `SELECT (finished_at / $1) * $1 AS at, count(*) FILTER (WHERE status = 'completed')::int AS completed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         avg(finished_at - started_at) FILTER (WHERE status = 'completed')::float8 AS mean
       FROM ${this.t("jobs")} WHERE finished_at >= $2 AND status IN ('completed', 'failed') AND ($3::text IS NULL OR queue = $3)
       GROUP BY 1 ORDER BY 1`,
      [b, params.since, params.queue ?? null],
    );
    return rows.map((r) => ({ at: Number(r.at), completed: r.completed, failed: r.failed, meanMs: r.mean === null ? null : Math.round(r.mean) }));
  }

  async jobAttempts(params: { id: string }): Promise<Attempt[]> {
    return this.read(async (c) => {
      const rows = (await this.q<AttemptRow>(c, `SELECT * FROM ${this.t("job_attempts")} WHERE job_id = $1 ORDER BY seq`, [params.id])).map(toAttempt);
      return withFinalAttempt(rows, await this.row(c, params.id));
    });
  }

  async jobLogs(params: { id: string; afterSeq?: number; limit?: number }): Promise<StoredLogLine[]> {
    return this.read(async (c) =>
      (
        await this.q<{ seq: number; job_id: string; attempt: number; at: number; line: string }>(
          c,
          `SELECT seq, job_id, attempt, at, line FROM ${this.t("job_logs")} WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
          [params.id, params.afterSeq ?? 0, params.limit ?? 1000],
        )
      ).map((r) => ({ seq: Number(r.seq), jobId: r.job_id, attempt: r.attempt, at: r.at, line: r.line })),
    );
  }

  async jobChain(params: { id: string }): Promise<Job[]> {
    return this.read(async (c) => {
      let first = await this.mustRow(c, params.id);
      const seen = new Set([first.id]);
      while (first.escalated_from && !seen.has(first.escalated_from)) {
        const prev = await this.row(c, first.escalated_from);
        if (!prev) break;
        seen.add(prev.id);
        first = prev;
      }
      const chain = [first];
      const ids = new Set([first.id]);
      for (let cur = first; cur.escalated_to && !ids.has(cur.escalated_to); ) {
        const next = await this.row(c, cur.escalated_to);
        if (!next) break;
        chain.push(next);
        ids.add(next.id);
        cur = next;
      }
      return chain.map(toJob);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Steering jobs

  async jobCancel(params: { id: string; reason?: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.tx(async (c) => {
      const r = await this.mustRow(c, params.id, true);
      if (r.status === "running") {
        return toJob((await this.q<JobRow>(c, `UPDATE ${this.t("jobs")} SET abort_requested = 'cancel' WHERE id = $1 RETURNING *`, [r.id]))[0]!);
      }
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only queued, scheduled, blocked or running jobs can be cancelled`);
      }
      const row = (
        await this.q<JobRow>(c, `UPDATE ${this.t("jobs")} SET status = 'cancelled', reason = $1, finished_at = $2 WHERE id = $3 RETURNING *`, [
          params.reason ?? "cancelled by request",
          now,
          r.id,
        ])
      )[0]!;
      await this.skipDownstream(c, r.id, "cancelled", now);
      return toJob(row);
    });
  }

  async jobSkip(params: { id: string; reason?: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.tx(async (c) => {
      const r = await this.mustRow(c, params.id, true);
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        const hint = r.status === "running" ? " (cancel a running job instead)" : "";
        throw new ConflictError(`job ${r.id} is ${r.status}; only queued, scheduled or blocked jobs can be skipped${hint}`);
      }
      const row = (
        await this.q<JobRow>(
          c,
          `UPDATE ${this.t("jobs")} SET status = 'skipped', reason = $1, skipped_by = NULL, finished_at = $2 WHERE id = $3 RETURNING *`,
          [params.reason ?? "skipped by request", now, r.id],
        )
      )[0]!;
      await this.skipDownstream(c, r.id, "skipped", now);
      return toJob(row);
    });
  }

  async jobRequeue(params: { id: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.tx(async (c) => {
      const r = await this.mustRow(c, params.id, true);
      if (!DOOMED_STATUSES.includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only failed, cancelled or skipped jobs can be requeued`);
      }
      // No lane would ever take it: its target is gone.
      if (r.target !== null && (await this.q(c, `SELECT 1 FROM ${this.t("targets")} WHERE name = $1`, [r.target])).length === 0) {
        throw new NotFoundError("target", r.target);
      }
      const deps = await this.depStates(c, r.id);
      const doomed = deps.find((d) => DOOMED_STATUSES.includes(d.status));
      if (doomed) {
        throw new ConflictError(
          `job ${r.id} depends on ${doomed.id}, which is ${doomed.status}; requeue ${doomed.skipped_by ?? doomed.id} first and this job follows`,
        );
      }
      if (r.unique_key !== null) {
        const holder = (
          await this.q<{ id: string }>(c, `SELECT id FROM ${this.t("jobs")} WHERE queue = $1 AND unique_key = $2 AND status IN ${ACTIVE_SQL}`, [
            r.queue,
            r.unique_key,
          ])
        )[0];
        if (holder) throw new ConflictError(`job ${r.id} has key ${JSON.stringify(r.unique_key)}, now held by job ${holder.id}`);
      }
      const status = readyStatus({ runAt: now, now, depStatuses: deps.map((d) => d.status) });
      const row = (
        await this.q<JobRow>(
          c,
          `UPDATE ${this.t("jobs")} SET status = $1, attempts = 0, run_at = $2, error = NULL, result = NULL, reason = NULL,
             progress = NULL, skipped_by = NULL, started_at = NULL, finished_at = NULL, worker_id = NULL,
             lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
           WHERE id = $3 RETURNING *`,
          [status, now, r.id],
        )
      )[0]!;
      await this.unskipDownstream(c, r.id, now);
      return toJob(row);
    });
  }

  private async depStates(c: Q, id: string): Promise<{ id: string; status: JobStatus; skipped_by: string | null }[]> {
    return this.q(
      c,
      `SELECT u.id, u.status, u.skipped_by FROM ${this.t("job_deps")} d JOIN ${this.t("jobs")} u ON u.id = d.depends_on WHERE d.job_id = $1`,
      [id],
    );
  }

  private async unskipDownstream(c: Q, root: string, now: number): Promise<void> {
    const back = (
      await this.q<{ id: string }>(
        c,
        `UPDATE ${this.t("jobs")} SET status = 'blocked', skipped_by = NULL, reason = NULL, finished_at = NULL
         WHERE skipped_by = $1 AND status = 'skipped' RETURNING id`,
        [root],
      )
    ).map((r) => r.id);
    for (const id of back) {
      const doomed = (await this.depStates(c, id)).find((d) => DOOMED_STATUSES.includes(d.status));
      if (!doomed) continue;
      const cur = await this.row(c, id);
      if (cur?.status !== "blocked") continue;
      const by = doomed.skipped_by ?? doomed.id;
      await c.query(`UPDATE ${this.t("jobs")} SET status = 'skipped', skipped_by = $1, reason = $2, finished_at = $3 WHERE id = $4`, [
        by,
        `upstream job ${by} ${doomed.status}`,
        now,
        id,
      ]);
      await this.skipDownstream(c, id, "skipped", now);
    }
  }

  async jobMove(params: { id: string; to: MoveTarget }): Promise<Job> {
    return this.tx(async (c) => {
      const r = await this.mustRow(c, params.id, true);
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only jobs that have not started can be moved`);
      }
      // Moves within a queue are serialised, so two moves never pick the same gap.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`runway:move:${this.schema}:${r.queue}`]);
      const to = params.to;
      if (to === "top" || to === "bottom") {
        const first = (
          await this.q<{ p: number | null }>(
            c,
            `SELECT min(position) AS p FROM ${this.t("jobs")} WHERE queue = $1 AND priority = $2 AND status IN ('queued', 'scheduled', 'blocked') AND id <> $3`,
            [r.queue, r.priority, r.id],
          )
        )[0]!.p;
        const position = to === "top" ? Math.min(first ?? r.position, r.position) - 1 : nextPosition();
        return toJob((await this.q<JobRow>(c, `UPDATE ${this.t("jobs")} SET position = $1 WHERE id = $2 RETURNING *`, [position, r.id]))[0]!);
      }
      const before = "before" in to;
      const otherId = before ? to.before : (to as { after: string }).after;
      if (otherId === r.id) throw new ValidationError("to", "a job cannot be moved relative to itself");
      let other = await this.mustRow(c, otherId);
      if (other.queue !== r.queue) {
        throw new ValidationError("to", `job ${other.id} is in queue ${other.queue}, not ${r.queue}; move within one queue`);
      }
      let position = await this.positionNextTo(c, other, r.id, before);
      if (position === null) {
        await this.renumber(c, r.queue);
        other = await this.mustRow(c, other.id);
        position = (await this.positionNextTo(c, other, r.id, before))!;
      }
      return toJob(
        (await this.q<JobRow>(c, `UPDATE ${this.t("jobs")} SET position = $1, priority = $2 WHERE id = $3 RETURNING *`, [position, other.priority, r.id]))[0]!,
      );
    });
  }

  private async positionNextTo(c: Q, other: JobRow, movingId: string, before: boolean): Promise<number | null> {
    const neighbour = (
      await this.q<{ p: number | null }>(
        c,
        before
          ? `SELECT max(position) AS p FROM ${this.t("jobs")} WHERE queue = $1 AND priority = $2 AND position < $3 AND id <> $4`
          : `SELECT min(position) AS p FROM ${this.t("jobs")} WHERE queue = $1 AND priority = $2 AND position > $3 AND id <> $4`,
        [other.queue, other.priority, other.position, movingId],
      )
    )[0]!.p;
    if (neighbour === null) return before ? other.position - 1 : other.position + 1;
    const mid = (neighbour + other.position) / 2;
    return mid === neighbour || mid === other.position ? null : mid;
  }

  private async renumber(c: Q, queue: string): Promise<void> {
    const rows = await this.q<{ id: string; position: number }>(
      c,
      `SELECT id, position FROM ${this.t("jobs")} WHERE queue = $1 AND status IN ('queued', 'scheduled', 'blocked') ORDER BY position, id`,
      [queue],
    );
    if (rows.length < 2) return;
    const lo = rows[0]!.position;
    const step = Math.max(1, (rows.at(-1)!.position - lo) / (rows.length - 1));
    await c.query(
      `UPDATE ${this.t("jobs")} j SET position = v.p FROM unnest($1::text[], $2::float8[]) AS v(id, p) WHERE j.id = v.id`,
      [rows.map((r) => r.id), rows.map((_, i) => lo + i * step)],
    );
  }

  async jobPrune(params: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }> {
    const now = params.now ?? Date.now();
    const cutoff = now - params.olderThanMs;
    let deleted = 0;
    for (;;) {
      const n = await this.tx(async (c) => {
        const ids = (
          await this.q<{ id: string }>(
            c,
            `SELECT id FROM ${this.t("jobs")} WHERE finished_at IS NOT NULL AND finished_at < $1
               AND status IN ('completed', 'failed', 'cancelled', 'skipped') ${params.queue ? "AND queue = $2" : ""}
             LIMIT 1000 FOR UPDATE SKIP LOCKED`,
            params.queue ? [cutoff, params.queue] : [cutoff],
          )
        ).map((r) => r.id);
        if (ids.length === 0) return 0;
        for (const table of ["job_deps", "job_attempts", "job_logs"]) {
          await c.query(`DELETE FROM ${this.t(table)} WHERE job_id = ANY($1::text[])`, [ids]);
        }
        return (await c.query(`DELETE FROM ${this.t("jobs")} WHERE id = ANY($1::text[])`, [ids])).rowCount ?? 0;
      }, { notify: false });
      deleted += n;
      if (n < 1000) break;
    }
    return { deleted };
  }

  // ---------------------------------------------------------------------------------------
  // Queues

  async queueEnsure(params: { queue: string; concurrency?: number | null; state?: QueueState }): Promise<QueueInfo> {
    assertName(params.queue, "queue");
    if (params.concurrency !== undefined) assertConcurrency(params.concurrency);
    return this.tx(async (c) => {
      await this.ensureQueues(c, [params.queue], Date.now());
      if (params.concurrency !== undefined) {
        await c.query(`UPDATE ${this.t("queues")} SET concurrency = $1 WHERE name = $2`, [params.concurrency, params.queue]);
      }
      if (params.state !== undefined) await this.setState(c, params.queue, params.state);
      return toQueue(await this.mustQueue(c, params.queue));
    });
  }

  async queueGet(params: { queue: string }): Promise<QueueInfo | null> {
    return this.read(async (c) => {
      const q = (await this.q<QueueRow>(c, `SELECT * FROM ${this.t("queues")} WHERE name = $1`, [params.queue]))[0];
      return q ? toQueue(q) : null;
    });
  }

  async queueList(): Promise<QueueInfo[]> {
    return this.read(async (c) => (await this.q<QueueRow>(c, `SELECT * FROM ${this.t("queues")} ORDER BY name`)).map(toQueue));
  }

  async queueSetState(params: { queue: string; state: QueueState }): Promise<QueueInfo> {
    if (!["running", "paused", "stopped"].includes(params.state)) {
      throw new ValidationError("state", `unknown queue state ${JSON.stringify(params.state)}; use running, paused or stopped`);
    }
    return this.tx(async (c) => {
      await this.mustQueue(c, params.queue);
      await this.setState(c, params.queue, params.state);
      return toQueue(await this.mustQueue(c, params.queue));
    });
  }

  private async setState(c: Q, queue: string, state: QueueState): Promise<void> {
    await c.query(`UPDATE ${this.t("queues")} SET state = $1 WHERE name = $2`, [state, queue]);
    if (state === "stopped") {
      await c.query(
        `UPDATE ${this.t("jobs")} SET abort_requested = 'requeue' WHERE queue = $1 AND status = 'running' AND abort_requested IS NULL`,
        [queue],
      );
    }
  }

  async queueSetConcurrency(params: { queue: string; concurrency: number | null }): Promise<QueueInfo> {
    assertConcurrency(params.concurrency);
    return this.tx(async (c) => {
      await this.mustQueue(c, params.queue);
      await c.query(`UPDATE ${this.t("queues")} SET concurrency = $1 WHERE name = $2`, [params.concurrency, params.queue]);
      return toQueue(await this.mustQueue(c, params.queue));
    });
  }

  async queueStats(params: { queue?: string; now?: number }): Promise<QueueStats[]> {
    const now = params.now ?? Date.now();
    return this.read(async (c) => {
      const queues = params.queue
        ? [await this.mustQueue(c, params.queue)]
        : await this.q<QueueRow>(c, `SELECT * FROM ${this.t("queues")} ORDER BY name`);
      const out: QueueStats[] = [];
      for (const q of queues) {
        const counts = Object.fromEntries(JOB_STATUSES.map((st) => [st, 0])) as Record<JobStatus, number>;
        const rows = await this.q<{ status: JobStatus; n: number }>(
          c,
          `SELECT 'queued' AS status, count(*)::int AS n FROM ${this.t("jobs")} WHERE queue = $1 AND status = 'queued'
           UNION ALL SELECT 'running', count(*)::int FROM ${this.t("jobs")} WHERE queue = $1 AND status = 'running'
           UNION ALL SELECT status, count(*)::int FROM ${this.t("jobs")} WHERE queue = $1 AND status IN ('scheduled', 'blocked') GROUP BY status
           UNION ALL SELECT status, count(*)::int FROM ${this.t("jobs")} WHERE queue = $1 AND finished_at IS NOT NULL GROUP BY status`,
          [q.name],
        );
        for (const r of rows) counts[r.status] += Number(r.n);
        const durations = (
          await this.q<{ d: number }>(
            c,
            `SELECT finished_at - started_at AS d FROM ${this.t("jobs")} WHERE queue = $1 AND finished_at IS NOT NULL AND status = 'completed'
             ORDER BY finished_at DESC LIMIT 1000`,
            [q.name],
          )
        )
          .map((r) => Number(r.d))
          .sort((a, b) => a - b);
        const completedLastMinute = Number(
          (
            await this.q<{ n: number }>(
              c,
              `SELECT count(*)::int AS n FROM ${this.t("jobs")} WHERE queue = $1 AND finished_at >= $2 AND status = 'completed'`,
              [q.name, now - 60_000],
            )
          )[0]!.n,
        );
        out.push({
          queue: q.name,
          state: q.state,
          concurrency: q.concurrency,
          counts,
          durationP50Ms: percentile(durations, 50),
          durationP95Ms: percentile(durations, 95),
          completedLastMinute,
        });
      }
      return out;
    });
  }

  async queueIsDrained(params: { queue: string }): Promise<boolean> {
    return this.read(async (c) => {
      const r = await this.q<{ busy: boolean }>(
        c,
        `SELECT EXISTS (SELECT 1 FROM ${this.t("jobs")} WHERE queue = $1 AND status = 'queued')
             OR EXISTS (SELECT 1 FROM ${this.t("jobs")} WHERE queue = $1 AND status = 'running')
             OR EXISTS (SELECT 1 FROM ${this.t("jobs")} WHERE queue = $1 AND status IN ('scheduled', 'blocked')) AS busy`,
        [params.queue],
      );
      return !r[0]!.busy;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Escalation rules

  // ---------------------------------------------------------------------------------------
  // Targets

  async targetSet(params: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target> {
    const t = checkTarget(params.target);
    const now = params.now ?? Date.now();
    const rows = await this.exec<TargetRow>(
      `INSERT INTO ${this.t("targets")} (name, host, port, identity, dir, sync, excludes, concurrency, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (name) DO ${params.replace ? `UPDATE SET host = excluded.host, port = excluded.port, identity = excluded.identity,
         dir = excluded.dir, sync = excluded.sync, excludes = excluded.excludes, concurrency = excluded.concurrency` : "NOTHING"}
       RETURNING *`,
      [t.name, t.host, t.port, t.identity, t.dir, t.sync, JSON.stringify(t.excludes), t.concurrency, now],
    );
    if (rows.length === 0) throw new ConflictError(`target "${t.name}" exists; remove it first (runway target rm ${t.name}) or replace it`);
    return toTarget(rows[0]!);
  }

  async targetGet(params: { name: string }): Promise<Target | null> {
    const rows = await this.exec<TargetRow>(`SELECT * FROM ${this.t("targets")} WHERE name = $1`, [params.name]);
    return rows[0] ? toTarget(rows[0]) : null;
  }

  async targetList(): Promise<Target[]> {
    return (await this.exec<TargetRow>(`SELECT * FROM ${this.t("targets")} ORDER BY name`)).map(toTarget);
  }

  async targetRemove(params: { name: string }): Promise<boolean> {
    return this.tx(async (c) => {
      // The row lock keeps a job from being added to the target while it goes.
      const found = await this.q(c, `SELECT 1 FROM ${this.t("targets")} WHERE name = $1 FOR UPDATE`, [params.name]);
      if (found.length === 0) return false;
      const active = (await this.q<{ n: number }>(c, `SELECT count(*)::int AS n FROM ${this.t("jobs")} WHERE target = $1 AND status IN ${ACTIVE_SQL}`, [params.name]))[0]!.n;
      if (active > 0) {
        throw new ConflictError(`target "${params.name}" still has ${active} job(s) waiting or running; cancel them or let them finish first`);
      }
      await c.query(`DELETE FROM ${this.t("targets")} WHERE name = $1`, [params.name]);
      return true;
    });
  }

  async targetReport(params: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void> {
    await this.exec(`UPDATE ${this.t("targets")} SET reachable = $1, message = $2, checked_at = $3 WHERE name = $4`, [
      params.reachable,
      params.message,
      params.now ?? Date.now(),
      params.name,
    ]);
  }

  async targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
    const rows = await this.exec<{ target: string; status: JobStatus; n: number }>(
      `SELECT target, status, count(*)::int AS n FROM ${this.t("jobs")} WHERE target IS NOT NULL AND status IN ${ACTIVE_SQL} GROUP BY target, status`,
    );
    const out: Record<string, Partial<Record<JobStatus, number>>> = {};
    for (const r of rows) (out[r.target] ??= {})[r.status] = r.n;
    return out;
  }

  async escalationSet(params: { rule: EscalationRule }): Promise<void> {
    const r = params.rule;
    if (r.queue === null && r.kind === null) throw new ValidationError("rule", "give the queue or the kind (or both) the rule applies to");
    if (r.toQueue === null && r.toKind === null) throw new ValidationError("rule", "give toQueue or toKind (or both): where failing jobs go");
    if (!Number.isInteger(r.after) || r.after < 1) throw new ValidationError("rule.after", `must be a whole number of attempts, 1 or more; got ${r.after}`);
    for (const [field, v] of [["rule.queue", r.queue], ["rule.kind", r.kind], ["rule.toQueue", r.toQueue], ["rule.toKind", r.toKind]] as const) {
      if (v !== null) assertName(v, field);
    }
    await this.tx(
      (c) =>
        c.query(
          `INSERT INTO ${this.t("escalation_rules")} (queue, kind, after, to_queue, to_kind) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (queue, kind) DO UPDATE SET after = excluded.after, to_queue = excluded.to_queue, to_kind = excluded.to_kind`,
          [r.queue ?? "", r.kind ?? "", r.after, r.toQueue, r.toKind],
        ),
      { notify: false },
    );
  }

  async escalationList(): Promise<EscalationRule[]> {
    return this.read((c) => this.rules(c));
  }

  async escalationRemove(params: { queue: string | null; kind: string | null }): Promise<boolean> {
    return this.tx(
      async (c) =>
        ((await c.query(`DELETE FROM ${this.t("escalation_rules")} WHERE queue = $1 AND kind = $2`, [params.queue ?? "", params.kind ?? ""])).rowCount ?? 0) > 0,
      { notify: false },
    );
  }

  // ---------------------------------------------------------------------------------------
  // Cron schedules

  async cronSet(params: { schedule: CronSpec; now?: number }): Promise<CronSchedule> {
    const now = params.now ?? Date.now();
    const c = prepareCron(params.schedule, now);
    const rows = await this.exec<CronRow>(
      `INSERT INTO ${this.t("cron_schedules")} (name, pattern, timezone, queue, kind, payload, priority, next_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, timezone = excluded.timezone, queue = excluded.queue,
         kind = excluded.kind, payload = excluded.payload, priority = excluded.priority, next_at = excluded.next_at
       RETURNING *`,
      [c.name, c.pattern, c.timezone, c.queue, c.kind, c.payloadJson, c.priority, c.nextAt, now],
    );
    return toCron(rows[0]!);
  }

  async cronList(): Promise<CronSchedule[]> {
    return (await this.exec<CronRow>(`SELECT * FROM ${this.t("cron_schedules")} ORDER BY name`)).map(toCron);
  }

  async cronRemove(params: { name: string }): Promise<boolean> {
    return (await this.exec<{ name: string }>(`DELETE FROM ${this.t("cron_schedules")} WHERE name = $1 RETURNING name`, [params.name])).length > 0;
  }

  async cronFire(params: { now?: number }): Promise<Job[]> {
    const now = params.now ?? Date.now();
    // Every worker asks every second and most of the time nothing is due: one read, no transaction.
    const probe = await this.exec<{ due: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.t("cron_schedules")} WHERE next_at <= $1) AS due`,
      [now],
      "cron-due",
    );
    if (!probe[0]?.due) return [];
    const added = await this.tx(
      async (c, wake) => {
        // A row another transaction is firing is skipped; one it has fired is re-read after its
        // commit, no longer due. Either way each tick is taken by one transaction only.
        const due = await this.q<CronRow>(
          c,
          `SELECT * FROM ${this.t("cron_schedules")} WHERE next_at <= $1 ORDER BY next_at, name FOR UPDATE SKIP LOCKED`,
          [now],
        );
        if (due.length === 0) return [];
        // Guarded on the tick read: a tick is fired only by the transaction that moves next_at off it.
        const moved = new Set(
          (
            await this.q<{ name: string }>(
              c,
              `UPDATE ${this.t("cron_schedules")} s SET next_at = v.next FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(name, tick, next)
               WHERE s.name = v.name AND s.next_at = v.tick RETURNING s.name`,
              [due.map((s) => s.name), due.map((s) => s.next_at), due.map((s) => followingTick(s, now))],
            )
          ).map((r) => r.name),
        );
        const jobs = due.filter((s) => moved.has(s.name)).map((s) => cronJob({ ...s, payloadJson: s.payload }, s.next_at!, now));
        if (jobs.length === 0) return [];
        const results = await this.addInTransaction(c, jobs, now);
        if (results.some((r) => r.created)) wake();
        return results;
      },
      { notify: "ask" },
    );
    return added.filter((r) => r.created).map((r) => r.job);
  }
}
