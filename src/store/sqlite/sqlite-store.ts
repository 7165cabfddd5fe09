import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type Database from "better-sqlite3";
import { ConflictError, NotFoundError, ValidationError } from "../../core/errors.js";
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
  ClaimParams,
  ClaimResult,
  ClaimedJob,
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
import { ChangeFeed } from "./change-feed.js";
import { type Durability, migrate, openConnection } from "./connection.js";
import { startCheckpointer } from "./checkpointer.js";
import { sqliteMaintenanceLeader } from "./leader.js";
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

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (one process only). */
  path: string;
  /** "normal" (default): survives any process crash. "full": also survives power loss, slower. */
  durability?: Durability;
  /** How often idle processes look for changes made by other processes. Default 50 ms. */
  pollIntervalMs?: number;
  busyTimeoutMs?: number;
}

const INSERT_COLUMNS = [
  "id", "queue", "kind", "payload", "status", "priority", "position", "name", "labels", "depends_on",
  "max_attempts", "backoff", "timeout_ms", "unique_key", "run_at", "reason", "skipped_by", "escalated_from",
  "target", "created_at", "finished_at",
];
const INSERT_SQL = `INSERT INTO jobs (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map((c) => `@${c}`).join(", ")})`;
const INSERT_POSITIONAL_SQL = `INSERT INTO jobs (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`;
const INSERT_KEYED_SQL = `${INSERT_SQL}
  ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN ${ACTIVE_SQL} DO NOTHING`;

type CompletedFinish = Extract<Finish, { outcome: "completed" }>;

/** The first waiting job of each named queue (a JSON array), claimed in one statement. */
const claimOneEach = [false, true].map((kinds) => claimOneEachText(kinds));
function claimOneEachSql(kinds: boolean): string {
  return claimOneEach[kinds ? 1 : 0]!;
}
function claimOneEachText(kinds: boolean): string {
  return `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = @token,
      lease_expires_at = @expires, worker_id = @worker, started_at = @now, abort_requested = NULL, exit_code = NULL
    WHERE id IN (
      SELECT (SELECT id FROM jobs WHERE queue = c.value AND status = 'queued' AND target IS NULL
                ${kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""}
              ORDER BY priority, position, id LIMIT 1)
      FROM json_each(@names) c)
    RETURNING ${JOB_COLUMNS}`;
}

/**
 * The looks that pick which queues a claim visits: running ones holding a job this claim could
 * take (its kinds, its target or none). Those with a limit must also have a slot free; they come
 * in name order after the last one served (`limitedAfter`), then from the start (`limitedFrom`).
 */
const queueLooks = new Map<string, { unlimited: string; limitedAfter: string; limitedFrom: string }>();
function queueLook(p: { target: string | null; kinds: boolean; queues: boolean }) {
  const key = `${p.target === null ? 0 : 1}${p.kinds ? 1 : 0}${p.queues ? 1 : 0}`;
  let look = queueLooks.get(key);
  if (!look) {
    const waiting = `EXISTS (SELECT 1 FROM jobs WHERE queue = q.name AND status = 'queued'
      AND ${p.target === null ? "target IS NULL" : "target = @target"} ${p.kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""})`;
    const chosen = p.queues ? "AND q.name IN (SELECT value FROM json_each(@queues))" : "";
    const limited = (range: string) => `SELECT q.name FROM queues q
      WHERE q.state = 'running' AND q.concurrency IS NOT NULL AND ${range} ${chosen} AND ${waiting}
        AND (SELECT count(*) FROM jobs WHERE queue = q.name AND status = 'running') < q.concurrency
      ORDER BY q.name LIMIT @k`;
    look = {
      unlimited: `SELECT q.name FROM queues q WHERE q.state = 'running' AND q.concurrency IS NULL ${chosen} AND ${waiting} ORDER BY q.name`,
      limitedAfter: limited("q.name > @after"),
      limitedFrom: limited("q.name <= @after"),
    };
    queueLooks.set(key, look);
  }
  return look;
}

export class SqliteStore implements Store {
  readonly dialect = "sqlite" as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly feed: ChangeFeed;
  private readonly statements = new Map<string, Database.Statement>();
  private roundRobin = 0;
  /** The limited queue served last: the next claim starts after it, so every queue gets its turn. */
  private lastLimited = "";
  private closed = false;
  private stopCheckpointer: () => Promise<void> = async () => {};
  private checkpointKey: string | null = null;
  private checkpointing = false;
  // Made once: better-sqlite3 builds a new wrapper each time transaction() is called.
  private readonly runInTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Queues known to exist; queues are never deleted, so this only saves a statement per add. */
  private readonly knownQueues = new Set<string>();
  private queuesInTransaction: string[] = [];

  constructor(opts: SqliteStoreOptions) {
    this.location = opts.path === ":memory:" ? ":memory:" : resolve(opts.path);
    this.db = openConnection(this.location, {
      durability: opts.durability ?? "normal",
      busyTimeoutMs: opts.busyTimeoutMs ?? 10_000,
    });
    migrate(this.db);
    this.runInTransaction = this.db.transaction((fn: () => unknown) => fn());
    const key = this.location === ":memory:" ? `:memory:${Math.random()}` : realpathSync(this.location);
    this.feed = new ChangeFeed(this.db, key, opts.pollIntervalMs ?? 50);
    this.checkpointKey = this.location === ":memory:" ? null : key;
  }

  /**
   * A long-lived process (one that watches for work) checkpoints from a thread of its own; a
   * one-shot command does not start one and leaves checkpoints to SQLite, which also runs one
   * when the last connection closes.
   */
  private startCheckpoints(): void {
    if (this.checkpointKey === null || this.checkpointing) return;
    this.checkpointing = true;
    this.db.pragma("wal_autocheckpoint = 10000");
    this.stopCheckpointer = startCheckpointer(this.checkpointKey);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feed.close();
    this.db.close();
    await this.stopCheckpointer();
  }

  watch(onChange: () => void): () => void {
    this.startCheckpoints();
    return this.feed.subscribe(onChange);
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** BEGIN IMMEDIATE: take the write lock up front, so a transaction never fails half-way on a lock upgrade. */
  private write<T>(fn: () => T, notify = true): T {
    this.queuesInTransaction = [];
    const result = this.runInTransaction.immediate(fn) as T;
    for (const q of this.queuesInTransaction) this.knownQueues.add(q);
    if (notify) this.feed.notify();
    return result;
  }

  private row(id: string): JobRow | undefined {
    return this.stmt("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
  }

  private mustRow(id: string): JobRow {
    const r = this.row(id);
    if (!r) throw new NotFoundError("job", id);
    return r;
  }

  private mustQueue(name: string): QueueRow {
    const q = this.stmt("SELECT * FROM queues WHERE name = ?").get(name) as QueueRow | undefined;
    if (!q) throw new NotFoundError("queue", name);
    return q;
  }

  /** A queue comes into being with its first job; when it exists this writes nothing. */
  private ensureQueue(queue: string, now: number): void {
    if (this.knownQueues.has(queue)) return;
    this.stmt("INSERT INTO queues (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(queue, now);
    // Remembered only once the transaction commits: a rolled-back add must not leave it "known".
    this.queuesInTransaction.push(queue);
  }

  private recordAttempt(r: JobRow, outcome: Attempt["outcome"], error: string | null, now: number): void {
    this.stmt(
      `INSERT INTO job_attempts (job_id, attempt, worker_id, started_at, finished_at, outcome, error, exit_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.attempts, r.worker_id, r.started_at ?? now, now, outcome, error, r.exit_code ?? null);
  }

  /** Exit codes are written first, guarded like the rest, so the job and its attempt both carry them. */
  private recordExitCodes(finishes: Finish[]): void {
    for (const f of finishes) {
      if ((f.outcome === "completed" || f.outcome === "failed") && f.exitCode !== undefined) {
        this.stmt("UPDATE jobs SET exit_code = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(f.exitCode, f.id, f.token);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Adding

  async jobAddMany(params: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<AddResult[]> {
    if (params.client !== undefined) {
      throw new ValidationError("client", "adding inside your own transaction needs the PostgreSQL store; with SQLite, leave client out");
    }
    const now = params.now ?? Date.now();
    return this.write(() => this.addInTransaction(params.jobs, now));
  }

  private addInTransaction(jobs: NewJob[], now: number): AddResult[] {
    for (const q of new Set(jobs.map((j) => j.queue))) this.ensureQueue(q, now);
    for (const t of targetsOf(jobs)) {
      if (!this.stmt("SELECT 1 FROM targets WHERE name = ?").get(t)) throw new NotFoundError("target", t);
    }
    // Positions in input order, so a batch keeps its own FIFO order.
    const positions = jobs.map(() => nextPosition(now));
    const results: AddResult[] = new Array(jobs.length);
    const statusOf = new Map<string, { status: JobStatus; skippedBy: string | null }>();
    // Plain jobs (no key, no dependencies) cannot clash or wait: a positional insert each, nothing read back.
    const plain: number[] = [];
    const rest: NewJob[] = [];
    jobs.forEach((j, i) => (j.key === null && j.dependsOn.length === 0 ? plain.push(i) : rest.push(j)));
    if (plain.length > 0) {
      const rows = plain.map((i) => {
        const j = jobs[i]!;
        const status = j.runAt > now ? "scheduled" : "queued";
        statusOf.set(j.id, { status, skippedBy: null });
        results[i] = { job: jobFromNew(j, { status, position: positions[i]!, now, dependsOn: [], reason: null }), created: true };
        return [j.id, j.queue, j.kind, j.payloadJson, status, j.priority, positions[i], j.name, JSON.stringify(j.labels), "[]",
          j.maxAttempts, JSON.stringify(j.backoff), j.timeoutMs, null, j.runAt, null, null, j.escalatedFrom, j.target, now, null];
      });
      const ins = this.stmt(INSERT_POSITIONAL_SQL);
      for (const r of rows) ins.run(r);
    }
    if (rest.length === 0) return results;
    const index = new Map(jobs.map((j, i) => [j.id, i]));
    const stored = storedDependencies(jobs);
    if (stored.length > 0) {
      const rows = this.stmt("SELECT id, status, skipped_by FROM jobs WHERE id IN (SELECT value FROM json_each(?))").all(
        JSON.stringify(stored),
      ) as { id: string; status: JobStatus; skipped_by: string | null }[];
      for (const r of rows) statusOf.set(r.id, { status: r.status, skippedBy: r.skipped_by });
    }
    // A job of the batch deduplicated onto an existing one: dependents follow the existing one.
    const alias = new Map<string, string>();
    for (const k of topologicalOrder(rest)) {
      const job = rest[k]!;
      const i = index.get(job.id)!;
      const deps = job.dependsOn.map((d) => alias.get(d) ?? d);
      const place = placeDependent({ job, field: jobs.length === 1 ? "job" : `jobs[${i}]`, deps, known: statusOf, now });
      const row = newJobRow(job, { ...place, position: positions[i]!, deps, now });
      if (!this.insertJob(row)) {
        const existing = this.stmt(
          `SELECT * FROM jobs WHERE queue = ? AND unique_key = ? AND status IN ${ACTIVE_SQL}`,
        ).get(job.queue, job.key) as JobRow;
        alias.set(job.id, existing.id);
        statusOf.set(existing.id, { status: existing.status, skippedBy: existing.skipped_by });
        results[i] = { job: toJob(existing), created: false };
        continue;
      }
      for (const d of deps) this.stmt("INSERT OR IGNORE INTO job_deps (job_id, depends_on) VALUES (?, ?)").run(job.id, d);
      statusOf.set(job.id, { status: place.status, skippedBy: place.root });
      results[i] = { job: jobFromNew(job, { status: place.status, position: positions[i]!, now, dependsOn: deps, reason: place.reason }), created: true };
    }
    return results;
  }

  /** Inserts a job row; false when its unique key is already held by an active job. */
  private insertJob(v: Record<string, unknown>): boolean {
    return this.stmt(v.unique_key === null ? INSERT_SQL : INSERT_KEYED_SQL).run(v).changes > 0;
  }

  // ---------------------------------------------------------------------------------------
  // Claiming and leases

  async jobClaim(params: ClaimParams): Promise<ClaimResult> {
    const now = params.now ?? Date.now();
    if (params.limit + (params.prefetch ?? 0) <= 0) return { jobs: [], nextRunAt: null };
    // A target's lane wakes on every change; most of the time its target has nothing waiting, and a read says so without the write lock.
    if (params.target && !this.stmt("SELECT 1 FROM jobs WHERE target = ? AND status IN ('queued', 'scheduled') LIMIT 1").get(params.target)) {
      return { jobs: [], nextRunAt: null };
    }
    let changed = false;
    const result = this.write(() => {
      const r = this.claimInTransaction(params, now);
      changed = r.changed;
      return r.result;
    }, false);
    if (changed) this.feed.notify();
    return result;
  }

  async jobFinishAndClaim(params: { finishes: Finish[]; claim: ClaimParams; now?: number }): Promise<ClaimResult & { outcomes: FinishOutcome[] }> {
    const now = params.now ?? Date.now();
    const rules = params.finishes.some((f) => f.outcome !== "completed") ? this.rules() : [];
    return this.write(() => {
      const outcomes = this.finishInTransaction(params.finishes, now, false, rules);
      return { outcomes, ...this.claimInTransaction(params.claim, now).result };
    });
  }

  private claimInTransaction(params: ClaimParams, now: number): { result: ClaimResult; changed: boolean } {
    if (params.limit + (params.prefetch ?? 0) <= 0) return { result: { jobs: [], nextRunAt: null }, changed: false };
    const kinds = params.kinds ? JSON.stringify(params.kinds) : null;
    // The limit is computed inside the statement from the queue's state, its concurrency and the
    // jobs running in it right now, so the cap holds across every process sharing the file.
    const target = params.target ?? null;
    // A target's jobs are claimed by its own lane, capped by the target's limit too; a job whose
    // run on the target is still open (its worker went away) comes first, to be adopted.
    const claimSql = `
      UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = @token,
        lease_expires_at = @expires, worker_id = @worker, started_at = @now, abort_requested = NULL, exit_code = NULL
      WHERE id IN (
        SELECT id FROM jobs
        WHERE queue = @queue AND status = 'queued' ${kinds ? "AND kind IN (SELECT value FROM json_each(@kinds))" : ""}
          AND ${target === null ? "target IS NULL" : "target = @target"}
        ORDER BY ${target === null ? "" : "coalesce(json_extract(remote, '$.attempt') = attempts + 1, 0) DESC, "}priority, position, id
        LIMIT max(0, min(@n,
          coalesce((SELECT coalesce(concurrency, 1000000000) FROM queues WHERE name = @queue AND state = 'running'), 0)
          - (SELECT count(*) FROM jobs WHERE queue = @queue AND status = 'running')
          ${target === null ? "" : `, coalesce((SELECT concurrency FROM targets WHERE name = @target), 0)
          - (SELECT count(*) FROM jobs WHERE target = @target AND status = 'running')`}))
      )
      RETURNING ${JOB_COLUMNS}`;
    const promoted = this.stmt("UPDATE jobs SET status = 'queued' WHERE status = 'scheduled' AND run_at <= ?").run(now);
    let changed = promoted.changes > 0;
    const token = (this.stmt("SELECT value FROM meta WHERE key = 'lease_token'").pluck().get() as number) + 1;
    const claimed: Job[] = [];
    const claimFrom = (queue: string, n: number) => {
      const rows = (
        this.stmt(claimSql)
          .raw(true)
          .all({
            queue,
            n,
            token,
            expires: now + params.leaseMs,
            worker: params.workerId,
            now,
            ...(kinds ? { kinds } : {}),
            ...(target === null ? {} : { target }),
          }) as unknown[][]
      ).map(toJobRaw);
      claimed.push(...rows);
    };
    const look = queueLook({ target, kinds: kinds !== null, queues: !!params.queues });
    const bind = {
      ...(target === null ? {} : { target }),
      ...(kinds ? { kinds } : {}),
      ...(params.queues ? { queues: JSON.stringify(params.queues) } : {}),
    };
    // Prefetch only ever comes from queues without a limit: a buffered job of a limited queue would hold one of its few slots.
    const most = params.limit + (params.prefetch ?? 0);
    const unlimited = this.stmt(look.unlimited).pluck().all(bind) as string[];
    const start = unlimited.length ? this.roundRobin++ % unlimited.length : 0;
    for (let k = 0; k < unlimited.length && claimed.length < most; k++) claimFrom(unlimited[(start + k) % unlimited.length]!, most - claimed.length);
    // Queues with a limit: only those with a job waiting for this claim and a slot free, taken in
    // turn after the last one served, and only as many as slots remain. This transaction holds the
    // write lock, so each one found gives at least one job: a claim never visits every queue, and
    // without a target one statement takes the first job of each (rounds for more than one each).
    let slots = params.limit - claimed.length;
    for (let round = 0; slots > 0; round++) {
      const after = this.lastLimited;
      const names = this.stmt(look.limitedAfter).pluck().all({ ...bind, after, k: slots }) as string[];
      if (names.length < slots) names.push(...(this.stmt(look.limitedFrom).pluck().all({ ...bind, after, k: slots - names.length }) as string[]));
      if (names.length === 0) break;
      const before = claimed.length;
      if (target === null) {
        const rows = this.stmt(claimOneEachSql(kinds !== null)).raw(true).all({
          names: JSON.stringify(names),
          token,
          expires: now + params.leaseMs,
          worker: params.workerId,
          now,
          ...(kinds ? { kinds } : {}),
        }) as unknown[][];
        claimed.push(...rows.map(toJobRaw));
      } else {
        for (const name of names) if (claimed.length - before < slots) claimFrom(name, slots - (claimed.length - before));
      }
      this.lastLimited = names[names.length - 1]!;
      const got = claimed.length - before;
      slots -= got;
      if (got === 0 || target !== null) break;
    }
    if (claimed.length > 1) claimed.sort(claimOrder);
    if (claimed.length > 0) {
      changed = true;
      this.stmt("UPDATE meta SET value = ? WHERE key = 'lease_token'").run(token);
    }
    const nextRunAt =
      claimed.length > 0
        ? null
        : ((this.stmt("SELECT min(run_at) FROM jobs WHERE status = 'scheduled'").pluck().get() as number | null) ?? null);
    return { result: { jobs: claimed.map((job): ClaimedJob => ({ job, token })), nextRunAt }, changed };
  }

  async jobHeartbeat(params: { leases: Lease[]; leaseMs: number; now?: number }): Promise<LeaseStatus[]> {
    const now = params.now ?? Date.now();
    if (params.leases.length === 0) return [];
    return this.write(
      () =>
        params.leases.map((l) => {
          const r = this.stmt(
            `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'
             RETURNING abort_requested`,
          ).get(now + params.leaseMs, l.id, l.token) as { abort_requested: LeaseStatus["abort"] } | undefined;
          return { id: l.id, ok: r !== undefined, abort: r?.abort_requested ?? null };
        }),
      false,
    );
  }

  async jobLeaseCheck(params: { leases: Lease[] }): Promise<LeaseStatus[]> {
    return params.leases.map((l) => {
      const r = this.stmt("SELECT abort_requested FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running'").get(
        l.id,
        l.token,
      ) as { abort_requested: LeaseStatus["abort"] } | undefined;
      return { id: l.id, ok: r !== undefined, abort: r?.abort_requested ?? null };
    });
  }

  async jobProgress(params: { id: string; token: number; progress: unknown }): Promise<boolean> {
    const json = encodePayload(params.progress, "progress");
    return this.write(
      () =>
        this.stmt("UPDATE jobs SET progress = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(
          json,
          params.id,
          params.token,
        ).changes > 0,
    );
  }

  async jobRemoteSet(params: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean> {
    const json = params.remote === null ? null : JSON.stringify(params.remote);
    return this.write(
      () =>
        this.stmt("UPDATE jobs SET remote = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(json, params.id, params.token)
          .changes > 0,
    );
  }

  async jobLogAppend(params: { lines: LogLine[] }): Promise<void> {
    if (params.lines.length === 0) return;
    this.write(() => {
      const ins = this.stmt("INSERT INTO job_logs (job_id, attempt, at, line) VALUES (?, ?, ?, ?)");
      for (const l of params.lines) ins.run(l.jobId, l.attempt, l.at, l.line);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Ending attempts. Every write is guarded by the lease token: a worker that lost its lease
  // (reaped, or the job was cancelled and finished) changes nothing and is told so.

  async jobFinishMany(params: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<FinishOutcome[]> {
    const now = params.now ?? Date.now();
    const finishes = params.finishes;
    if (finishes.length === 0) return [];
    const returnJobs = params.returnJobs ?? true;
    const rules = finishes.some((f) => f.outcome !== "completed") ? this.rules() : [];
    return this.write(() => this.finishInTransaction(finishes, now, returnJobs, rules));
  }

  private finishInTransaction(finishes: Finish[], now: number, returnJobs: boolean, rules: EscalationRule[]): FinishOutcome[] {
    this.recordExitCodes(finishes);
    const out: FinishOutcome[] = new Array(finishes.length);
    const completes: number[] = [];
    finishes.forEach((f, i) => {
      if (f.outcome === "completed" && !returnJobs) completes.push(i);
      else out[i] = this.finishOne(f, now, rules);
    });
    if (completes.length > 0) {
      const done = this.completeMany(completes.map((i) => finishes[i]!) as CompletedFinish[], now);
      done.forEach((o, k) => (out[completes[k]!] = o));
    }
    return out;
  }

  /**
   * The hot path of a drain: every completion of a batch in two statements (update, dependents)
   * instead of several per job. Jobs are not read back; the caller has them.
   */
  private completeMany(finishes: CompletedFinish[], now: number): FinishOutcome[] {
    const list = JSON.stringify(finishes.map((f) => [f.id, f.token, f.result === undefined ? null : encodePayload(f.result, "result")]));
    const done = this.stmt(
      `UPDATE jobs SET status = 'completed', result = f.result, error = NULL, reason = NULL, finished_at = @now,
         lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
       FROM (SELECT value ->> 0 AS id, value ->> 1 AS token, value ->> 2 AS result FROM json_each(@list)) AS f
       WHERE jobs.id = f.id AND jobs.lease_token = f.token AND jobs.status = 'running'
       RETURNING jobs.id`,
    )
      .pluck()
      .all({ list, now }) as string[];
    if (done.length > 0) {
      const ids = JSON.stringify(done);
      const waiting = this.stmt(
        "SELECT DISTINCT depends_on FROM job_deps WHERE depends_on IN (SELECT value FROM json_each(?))",
      )
        .pluck()
        .all(ids) as string[];
      for (const id of waiting) this.unblockDependents(id, now);
    }
    const ok = new Set(done);
    return finishes.map((f) => ({
      id: f.id,
      ok: ok.has(f.id),
      status: ok.has(f.id) ? "completed" : null,
      retryAt: null,
      escalatedTo: null,
      job: null,
    }));
  }

  async jobComplete(params: { id: string; token: number; result?: unknown; now?: number }): Promise<FinishOutcome> {
    const [o] = await this.jobFinishMany({
      finishes: [{ id: params.id, token: params.token, outcome: "completed", result: params.result }],
      ...(params.now !== undefined ? { now: params.now } : {}),
    });
    return o!;
  }

  async jobFail(params: { id: string; token: number; error: string; retryable?: boolean; now?: number }): Promise<FinishOutcome> {
    const [o] = await this.jobFinishMany({
      finishes: [
        {
          id: params.id,
          token: params.token,
          outcome: "failed",
          error: params.error,
          ...(params.retryable !== undefined ? { retryable: params.retryable } : {}),
        },
      ],
      ...(params.now !== undefined ? { now: params.now } : {}),
    });
    return o!;
  }

  async jobRelease(params: { id: string; token: number; now?: number }): Promise<FinishOutcome> {
    const [o] = await this.jobFinishMany({
      finishes: [{ id: params.id, token: params.token, outcome: "released" }],
      ...(params.now !== undefined ? { now: params.now } : {}),
    });
    return o!;
  }

  private finishOne(f: Finish, now: number, rules: EscalationRule[]): FinishOutcome {
    const r = this.stmt("SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running'").get(f.id, f.token) as
      | JobRow
      | undefined;
    if (!r) return { id: f.id, ok: false, status: null, retryAt: null, escalatedTo: null, job: null };
    let outcome: FinishOutcome;
    if (f.outcome === "completed") {
      outcome = this.completeRow(r, f.result, now);
    } else if (f.outcome === "cancelled" || r.abort_requested === "cancel") {
      outcome = this.endRow(r, "cancelled", f.outcome === "failed" || f.outcome === "cancelled" ? (f.error ?? "cancelled") : "cancelled", now, "cancelled", "cancelled by request");
    } else if (f.outcome === "released" || r.abort_requested === "requeue") {
      outcome = this.releaseRow(r, now);
    } else {
      outcome = this.failRow(r, f.error, { retryable: f.retryable ?? true, immediate: false, outcome: "failed" }, now, rules);
    }
    return outcome;
  }

  private completeRow(r: JobRow, result: unknown, now: number): FinishOutcome {
    const json = result === undefined ? null : encodePayload(result, "result");
    const row = this.stmt(
      `UPDATE jobs SET status = 'completed', result = ?, error = NULL, reason = NULL, finished_at = ?,
         lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
       WHERE id = ? RETURNING *`,
    ).get(json, now, r.id) as JobRow;
    this.unblockDependents(r.id, now);
    return { id: r.id, ok: true, status: "completed", retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  /** Ends a running job as failed or cancelled, and skips everything downstream of it. */
  private endRow(
    r: JobRow,
    status: "failed" | "cancelled",
    error: string,
    now: number,
    attemptOutcome: Attempt["outcome"],
    reason: string | null,
  ): FinishOutcome {
    const row = this.stmt(
      `UPDATE jobs SET status = ?, error = ?, reason = ?, finished_at = ?,
         lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
       WHERE id = ? RETURNING *`,
    ).get(status, error, reason, now, r.id) as JobRow;
    this.recordAttempt(r, attemptOutcome, error, now);
    this.skipDownstream(r.id, status, now);
    return { id: r.id, ok: true, status, retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  /**
   * Back to the queue without counting the attempt: graceful shutdown, a stopped queue, or the
   * first time a job's worker dies under it (a second death counts, so a job that kills its
   * worker cannot loop forever).
   */
  private releaseRow(r: JobRow, now: number, outcome: "released" | "lost" = "released", error: string | null = null): FinishOutcome {
    const row = this.stmt(
      `UPDATE jobs SET status = 'queued', attempts = max(0, attempts - 1), lease_token = NULL,
         lease_expires_at = NULL, abort_requested = NULL, worker_id = NULL, started_at = NULL,
         error = coalesce(?, error)
       WHERE id = ? RETURNING *`,
    ).get(error, r.id) as JobRow;
    this.recordAttempt(r, outcome, error, now);
    return { id: r.id, ok: true, status: "queued", retryAt: null, escalatedTo: null, job: toJob(row) };
  }

  private failRow(
    r: JobRow,
    error: string,
    opts: { retryable: boolean; immediate: boolean; outcome: Attempt["outcome"] },
    now: number,
    rules: EscalationRule[],
  ): FinishOutcome {
    const decision = decideFailure({
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      backoff: JSON.parse(r.backoff),
      rule: matchEscalation(rules, r),
      retryable: opts.retryable,
      immediate: opts.immediate,
      now,
    });
    if (decision.action === "fail") return this.endRow(r, "failed", error, now, opts.outcome, null);
    if (decision.action === "retry") {
      const row = this.stmt(
        `UPDATE jobs SET status = ?, run_at = ?, error = ?, lease_token = NULL, lease_expires_at = NULL,
           abort_requested = NULL
         WHERE id = ? RETURNING *`,
      ).get(decision.status, decision.runAt, error, r.id) as JobRow;
      this.recordAttempt(r, opts.outcome, error, now);
      return { id: r.id, ok: true, status: decision.status, retryAt: decision.runAt, escalatedTo: null, job: toJob(row) };
    }
    // Escalate: end this job and hand the same payload to the next queue or kind. Jobs that were
    // waiting on this one now wait on its successor instead of being skipped.
    const rule = decision.rule;
    const toQueue = rule.toQueue ?? r.queue;
    const toKind = rule.toKind ?? r.kind;
    const newId = newJobId(now);
    const reason = `escalated to ${newId} (${toKind} on ${toQueue}) after ${r.attempts} failed attempt${r.attempts === 1 ? "" : "s"}`;
    const row = this.stmt(
      `UPDATE jobs SET status = 'failed', error = ?, reason = ?, escalated_to = ?, finished_at = ?,
         lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
       WHERE id = ? RETURNING *`,
    ).get(error, reason, newId, now, r.id) as JobRow;
    this.recordAttempt(r, opts.outcome, error, now);
    this.ensureQueue(toQueue, now);
    this.insertJob({
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
      reason: null,
      skipped_by: null,
      escalated_from: r.id,
      // Targets run shell jobs: a successor of another kind runs where its handler is.
      target: toKind === "shell" ? r.target : null,
      created_at: now,
      finished_at: null,
    });
    const dependents = this.stmt("SELECT job_id FROM job_deps WHERE depends_on = ?").pluck().all(r.id) as string[];
    for (const d of dependents) {
      this.stmt("UPDATE OR IGNORE job_deps SET depends_on = ? WHERE job_id = ? AND depends_on = ?").run(newId, d, r.id);
      this.stmt("DELETE FROM job_deps WHERE job_id = ? AND depends_on = ?").run(d, r.id);
      this.stmt(
        `UPDATE jobs SET depends_on = (SELECT json_group_array(depends_on) FROM job_deps WHERE job_id = ?) WHERE id = ?`,
      ).run(d, d);
    }
    return { id: r.id, ok: true, status: "failed", retryAt: null, escalatedTo: newId, job: toJob(row) };
  }

  /** Blocked dependents whose every dependency has now completed become ready. */
  private unblockDependents(id: string, now: number): void {
    this.stmt(
      `UPDATE jobs SET status = CASE WHEN run_at > @now THEN 'scheduled' ELSE 'queued' END
       WHERE status = 'blocked'
         AND id IN (SELECT job_id FROM job_deps WHERE depends_on = @id)
         AND NOT EXISTS (
           SELECT 1 FROM job_deps d JOIN jobs u ON u.id = d.depends_on
           WHERE d.job_id = jobs.id AND u.status <> 'completed')`,
    ).run({ id, now });
  }

  /** Every job waiting (transitively) on `root` is skipped, remembering `root` so a requeue can undo it. */
  private skipDownstream(root: string, rootStatus: JobStatus, now: number): string[] {
    const verb = rootStatus === "skipped" ? "was skipped" : rootStatus;
    return this.stmt(
      `WITH RECURSIVE down(id) AS (
         SELECT d.job_id FROM job_deps d JOIN jobs j ON j.id = d.job_id
         WHERE d.depends_on = @root AND j.status = 'blocked'
         UNION
         SELECT d.job_id FROM job_deps d JOIN down ON d.depends_on = down.id JOIN jobs j ON j.id = d.job_id
         WHERE j.status = 'blocked'
       )
       UPDATE jobs SET status = 'skipped', skipped_by = @root, reason = @reason, finished_at = @now
       WHERE id IN (SELECT id FROM down)
       RETURNING id`,
    )
      .pluck()
      .all({ root, reason: `upstream job ${root} ${verb}`, now }) as string[];
  }

  /** Nothing to do: WAL checkpoints have their own thread, and SQLite reuses freed pages itself. */
  async storeMaintain(_params: { now?: number }): Promise<void> {}

  maintenanceLeader(params: { onWarning?: (message: string) => void }): LeaderLease {
    return sqliteMaintenanceLeader(this.location, params.onWarning);
  }

  async jobReapExpired(params: { now?: number }): Promise<ReapResult> {
    const now = params.now ?? Date.now();
    const rules = this.rules();
    const out: ReapResult = { requeued: [], failed: [], cancelled: [] };
    // Read and write in one IMMEDIATE transaction: a completion cannot slip in between, and each
    // write re-checks the token, so a job completed before the reaper ran is never touched.
    const expired = this.stmt(
      "SELECT id, lease_token FROM jobs WHERE status = 'running' AND lease_expires_at < ?",
    ).all(now) as { id: string; lease_token: number }[];
    if (expired.length === 0) return out;
    this.write(() => {
      for (const e of expired) {
        const r = this.stmt(
          "SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running' AND lease_expires_at < ?",
        ).get(e.id, e.lease_token, now) as JobRow | undefined;
        if (!r) continue;
        let o: FinishOutcome;
        if (r.abort_requested === "cancel") o = this.endRow(r, "cancelled", "cancelled", now, "lost", "cancelled by request");
        else if (r.abort_requested === "requeue") o = this.releaseRow(r, now);
        // A job still running on a target lost only its watcher: the next lane adopts the run, at no cost.
        else if (remoteRunOpen(r.remote, r.attempts) || !this.lostBefore(r.id)) o = this.releaseRow(r, now, "lost", LOST_ERROR);
        else o = this.failRow(r, LOST_ERROR, { retryable: true, immediate: true, outcome: "lost" }, now, rules);
        if (o.status === "cancelled") out.cancelled.push(r.id);
        else if (o.status === "failed") out.failed.push(r.id);
        else out.requeued.push(r.id);
      }
    });
    return out;
  }

  private lostBefore(id: string): boolean {
    return this.stmt("SELECT 1 FROM job_attempts WHERE job_id = ? AND outcome = 'lost' LIMIT 1").get(id) !== undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  async jobGet(params: { id: string }): Promise<Job | null> {
    const r = this.row(params.id);
    return r ? toJob(r) : null;
  }

  async jobList(params: JobListParams): Promise<Job[]> {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    if (params.queue !== undefined) {
      where.push("queue = @queue");
      args.queue = params.queue;
    }
    if (params.kind !== undefined) {
      where.push("kind = @kind");
      args.kind = params.kind;
    }
    if (params.status?.length) {
      for (const s of params.status) {
        if (!(JOB_STATUSES as readonly string[]).includes(s)) {
          throw new ValidationError("status", `unknown status ${JSON.stringify(s)}; use one of ${JOB_STATUSES.join(", ")}`);
        }
      }
      // Written out (the names are checked above), so the planner can answer from a phase's partial
      // index: the running jobs among a million are found without reading the million.
      where.push(`status IN (${params.status.map((x) => `'${x}'`).join(", ")})`);
    }
    if (params.target !== undefined) {
      where.push("target = @target");
      args.target = params.target;
    }
    if (params.search) {
      // The name and a shell job's command only: a payload's other fields (its environment) stay private.
      where.push(
        "(name LIKE @search ESCAPE '\\' OR json_extract(payload, '$.shell') LIKE @search ESCAPE '\\' OR json_extract(payload, '$.command') LIKE @search ESCAPE '\\')",
      );
      args.search = `%${params.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (params.finishedSince !== undefined) {
      where.push("finished_at >= @finishedSince");
      args.finishedSince = params.finishedSince;
    }
    const order = params.order ?? "queue";
    if (params.after !== undefined) {
      args.after = params.after;
      if (order === "recent") where.push("id < @after");
      else if (order === "added") where.push("id > @after");
      else if (order === "finished") {
        const c = this.mustRow(params.after);
        where.push("(finished_at, id) > (@cfin, @after)");
        args.cfin = c.finished_at ?? 0;
      } else {
        const c = this.mustRow(params.after);
        where.push("(priority, position, id) > (@cp, @cpos, @cid)");
        Object.assign(args, { cp: c.priority, cpos: c.position, cid: c.id });
      }
    }
    args.limit = Math.min(Math.max(params.limit ?? 100, 1), 10_000);
    const orderBy = { queue: "priority, position, id", recent: "id DESC", added: "id", finished: "finished_at, id" }[order];
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${orderBy} LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as JobRow[]).map(toJob);
  }

  async jobTimeline(params: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]> {
    const rows = this.db
      .prepare(
        `SELECT CAST(finished_at / @b AS INTEGER) * @b AS at, sum(status = 'completed') AS completed, sum(status = 'failed') AS failed,
           avg(CASE WHEN status = 'completed' THEN finished_at - started_at END) AS meanMs
         FROM jobs WHERE finished_at >= @since AND status IN ('completed', 'failed') ${params.queue !== undefined ? "AND queue = @queue" : ""}
         GROUP BY 1 ORDER BY 1`,
      )
      .all({ b: Math.max(1, Math.trunc(params.bucketMs)), since: params.since, ...(params.queue !== undefined ? { queue: params.queue } : {}) }) as TimelineBucket[];
    return rows.map((r) => ({ at: r.at, completed: r.completed, failed: r.failed, meanMs: r.meanMs === null ? null : Math.round(r.meanMs) }));
  }

  async jobAttempts(params: { id: string }): Promise<Attempt[]> {
    const rows = (this.stmt("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY seq").all(params.id) as AttemptRow[]).map(toAttempt);
    return withFinalAttempt(rows, this.row(params.id));
  }

  async jobLogs(params: { id: string; afterSeq?: number; limit?: number }): Promise<StoredLogLine[]> {
    const rows = this.stmt(
      "SELECT seq, job_id, attempt, at, line FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ).all(params.id, params.afterSeq ?? 0, params.limit ?? 1000) as {
      seq: number;
      job_id: string;
      attempt: number;
      at: number;
      line: string;
    }[];
    return rows.map((r) => ({ seq: r.seq, jobId: r.job_id, attempt: r.attempt, at: r.at, line: r.line }));
  }

  async jobChain(params: { id: string }): Promise<Job[]> {
    let first = this.mustRow(params.id);
    const seen = new Set([first.id]);
    while (first.escalated_from && !seen.has(first.escalated_from)) {
      const prev = this.row(first.escalated_from);
      if (!prev) break;
      seen.add(prev.id);
      first = prev;
    }
    const chain = [first];
    const ids = new Set([first.id]);
    for (let cur = first; cur.escalated_to && !ids.has(cur.escalated_to); ) {
      const next = this.row(cur.escalated_to);
      if (!next) break;
      chain.push(next);
      ids.add(next.id);
      cur = next;
    }
    return chain.map(toJob);
  }

  // ---------------------------------------------------------------------------------------
  // Steering jobs

  async jobCancel(params: { id: string; reason?: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.write(() => {
      const r = this.mustRow(params.id);
      if (r.status === "running") {
        const row = this.stmt("UPDATE jobs SET abort_requested = 'cancel' WHERE id = ? RETURNING *").get(r.id) as JobRow;
        return toJob(row);
      }
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only queued, scheduled, blocked or running jobs can be cancelled`);
      }
      const row = this.stmt(
        "UPDATE jobs SET status = 'cancelled', reason = ?, finished_at = ? WHERE id = ? RETURNING *",
      ).get(params.reason ?? "cancelled by request", now, r.id) as JobRow;
      this.skipDownstream(r.id, "cancelled", now);
      return toJob(row);
    });
  }

  async jobSkip(params: { id: string; reason?: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.write(() => {
      const r = this.mustRow(params.id);
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        const hint = r.status === "running" ? " (cancel a running job instead)" : "";
        throw new ConflictError(`job ${r.id} is ${r.status}; only queued, scheduled or blocked jobs can be skipped${hint}`);
      }
      const row = this.stmt(
        "UPDATE jobs SET status = 'skipped', reason = ?, skipped_by = NULL, finished_at = ? WHERE id = ? RETURNING *",
      ).get(params.reason ?? "skipped by request", now, r.id) as JobRow;
      this.skipDownstream(r.id, "skipped", now);
      return toJob(row);
    });
  }

  async jobRequeue(params: { id: string; now?: number }): Promise<Job> {
    const now = params.now ?? Date.now();
    return this.write(() => {
      const r = this.mustRow(params.id);
      if (!DOOMED_STATUSES.includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only failed, cancelled or skipped jobs can be requeued`);
      }
      // No lane would ever take it: its target is gone.
      if (r.target !== null && !this.stmt("SELECT 1 FROM targets WHERE name = ?").get(r.target)) throw new NotFoundError("target", r.target);
      const deps = this.depStates(r.id);
      const doomed = deps.find((d) => DOOMED_STATUSES.includes(d.status));
      if (doomed) {
        const root = doomed.skipped_by ?? doomed.id;
        throw new ConflictError(
          `job ${r.id} depends on ${doomed.id}, which is ${doomed.status}; requeue ${root} first and this job follows`,
        );
      }
      const status = readyStatus({ runAt: now, now, depStatuses: deps.map((d) => d.status) });
      let row: JobRow;
      try {
        row = this.stmt(
          `UPDATE jobs SET status = ?, attempts = 0, run_at = ?, error = NULL, result = NULL, reason = NULL,
             progress = NULL, skipped_by = NULL, started_at = NULL, finished_at = NULL, worker_id = NULL,
             lease_token = NULL, lease_expires_at = NULL, abort_requested = NULL
           WHERE id = ? RETURNING *`,
        ).get(status, now, r.id) as JobRow;
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
          const holder = this.stmt(`SELECT id FROM jobs WHERE queue = ? AND unique_key = ? AND status IN ${ACTIVE_SQL}`)
            .pluck()
            .get(r.queue, r.unique_key);
          throw new ConflictError(`job ${r.id} has key ${JSON.stringify(r.unique_key)}, now held by job ${String(holder)}`);
        }
        throw err;
      }
      this.unskipDownstream(r.id, now);
      return toJob(row);
    });
  }

  private depStates(id: string): { id: string; status: JobStatus; skipped_by: string | null }[] {
    return this.stmt(
      "SELECT u.id, u.status, u.skipped_by FROM job_deps d JOIN jobs u ON u.id = d.depends_on WHERE d.job_id = ?",
    ).all(id) as { id: string; status: JobStatus; skipped_by: string | null }[];
  }

  /** Jobs skipped because `root` ended go back to blocked, unless another dependency of theirs is still doomed. */
  private unskipDownstream(root: string, now: number): void {
    const back = this.stmt(
      `UPDATE jobs SET status = 'blocked', skipped_by = NULL, reason = NULL, finished_at = NULL
       WHERE skipped_by = ? AND status = 'skipped' RETURNING id`,
    )
      .pluck()
      .all(root) as string[];
    for (const id of back) {
      const doomed = this.depStates(id).find((d) => DOOMED_STATUSES.includes(d.status));
      if (doomed) {
        const cur = this.row(id)!;
        if (cur.status !== "blocked") continue;
        const by = doomed.skipped_by ?? doomed.id;
        this.stmt(
          "UPDATE jobs SET status = 'skipped', skipped_by = ?, reason = ?, finished_at = ? WHERE id = ?",
        ).run(by, `upstream job ${by} ${doomed.status}`, now, id);
        this.skipDownstream(id, "skipped", now);
      }
    }
  }

  async jobMove(params: { id: string; to: MoveTarget }): Promise<Job> {
    return this.write(() => {
      const r = this.mustRow(params.id);
      if (!["queued", "scheduled", "blocked"].includes(r.status)) {
        throw new ConflictError(`job ${r.id} is ${r.status}; only jobs that have not started can be moved`);
      }
      const to = params.to;
      if (to === "top" || to === "bottom") {
        // Top: before every waiting job of its priority. Bottom: as if added now.
        const first = this.stmt(
          "SELECT min(position) FROM jobs WHERE queue = ? AND priority = ? AND status IN ('queued', 'scheduled', 'blocked') AND id <> ?",
        )
          .pluck()
          .get(r.queue, r.priority, r.id) as number | null;
        const position = to === "top" ? Math.min(first ?? r.position, r.position) - 1 : nextPosition();
        return toJob(this.stmt("UPDATE jobs SET position = ? WHERE id = ? RETURNING *").get(position, r.id) as JobRow);
      }
      const before = "before" in to;
      const otherId = before ? to.before : (to as { after: string }).after;
      if (otherId === r.id) throw new ValidationError("to", "a job cannot be moved relative to itself");
      const other = this.mustRow(otherId);
      if (other.queue !== r.queue) {
        throw new ValidationError("to", `job ${other.id} is in queue ${other.queue}, not ${r.queue}; move within one queue`);
      }
      // The moved job takes the other job's priority, so it really runs right before or after it.
      let position = this.positionNextTo(other, r.id, before);
      if (position === null) {
        this.renumber(r.queue);
        position = this.positionNextTo(this.mustRow(other.id), r.id, before)!;
      }
      return toJob(
        this.stmt("UPDATE jobs SET position = ?, priority = ? WHERE id = ? RETURNING *").get(
          position,
          other.priority,
          r.id,
        ) as JobRow,
      );
    });
  }

  /** A position between `other` and its neighbour on one side; null when the gap is too narrow to split. */
  private positionNextTo(other: JobRow, movingId: string, before: boolean): number | null {
    const neighbour = this.stmt(
      before
        ? "SELECT max(position) FROM jobs WHERE queue = ? AND priority = ? AND position < ? AND id <> ?"
        : "SELECT min(position) FROM jobs WHERE queue = ? AND priority = ? AND position > ? AND id <> ?",
    )
      .pluck()
      .get(other.queue, other.priority, other.position, movingId) as number | null;
    if (neighbour === null) return before ? other.position - 1 : other.position + 1;
    const mid = (neighbour + other.position) / 2;
    return mid === neighbour || mid === other.position ? null : mid;
  }

  /** Spreads the waiting jobs of a queue evenly, keeping their order, when one gap has been split too often. */
  private renumber(queue: string): void {
    const rows = this.stmt(
      "SELECT id, position FROM jobs WHERE queue = ? AND status IN ('queued', 'scheduled', 'blocked') ORDER BY position, id",
    ).all(queue) as { id: string; position: number }[];
    if (rows.length < 2) return;
    const upd = this.stmt("UPDATE jobs SET position = ? WHERE id = ?");
    // Evenly over the range they already span (jobs added later still sort after them), but at
    // least one unit apart: n jobs then reach n/1024 ms past the first, far below any real gap.
    const lo = rows[0]!.position;
    const step = Math.max(1, (rows.at(-1)!.position - lo) / (rows.length - 1));
    rows.forEach((r, i) => upd.run(lo + i * step, r.id));
  }

  async jobPrune(params: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }> {
    const now = params.now ?? Date.now();
    const cutoff = now - params.olderThanMs;
    let deleted = 0;
    // In chunks, so a prune of a million rows never holds the write lock for long.
    for (;;) {
      const n = this.write(() => {
        const ids = this.stmt(
          `SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < @cutoff
             AND status IN ('completed', 'failed', 'cancelled', 'skipped') ${params.queue ? "AND queue = @queue" : ""}
           LIMIT 1000`,
        )
          .pluck()
          .all({ cutoff, ...(params.queue ? { queue: params.queue } : {}) }) as string[];
        if (ids.length === 0) return 0;
        const list = JSON.stringify(ids);
        for (const table of ["job_deps", "job_attempts", "job_logs"]) {
          this.db.prepare(`DELETE FROM ${table} WHERE job_id IN (SELECT value FROM json_each(?))`).run(list);
        }
        return this.stmt("DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))").run(list).changes;
      }, false);
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
    return this.write(() => {
      this.stmt("INSERT INTO queues (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(
        params.queue,
        Date.now(),
      );
      if (params.concurrency !== undefined) {
        this.stmt("UPDATE queues SET concurrency = ? WHERE name = ?").run(params.concurrency, params.queue);
      }
      if (params.state !== undefined) this.setState(params.queue, params.state);
      return toQueue(this.mustQueue(params.queue));
    });
  }

  async queueGet(params: { queue: string }): Promise<QueueInfo | null> {
    const q = this.stmt("SELECT * FROM queues WHERE name = ?").get(params.queue) as QueueRow | undefined;
    return q ? toQueue(q) : null;
  }

  async queueList(): Promise<QueueInfo[]> {
    return (this.stmt("SELECT * FROM queues ORDER BY name").all() as QueueRow[]).map(toQueue);
  }

  async queueSetState(params: { queue: string; state: QueueState }): Promise<QueueInfo> {
    if (!["running", "paused", "stopped"].includes(params.state)) {
      throw new ValidationError("state", `unknown queue state ${JSON.stringify(params.state)}; use running, paused or stopped`);
    }
    return this.write(() => {
      this.mustQueue(params.queue);
      this.setState(params.queue, params.state);
      return toQueue(this.mustQueue(params.queue));
    });
  }

  private setState(queue: string, state: QueueState): void {
    this.stmt("UPDATE queues SET state = ? WHERE name = ?").run(state, queue);
    if (state === "stopped") {
      // Running attempts are asked to stop; their workers put the jobs back in the queue.
      this.stmt(
        "UPDATE jobs SET abort_requested = 'requeue' WHERE queue = ? AND status = 'running' AND abort_requested IS NULL",
      ).run(queue);
    }
  }

  async queueSetConcurrency(params: { queue: string; concurrency: number | null }): Promise<QueueInfo> {
    assertConcurrency(params.concurrency);
    return this.write(() => {
      this.mustQueue(params.queue);
      this.stmt("UPDATE queues SET concurrency = ? WHERE name = ?").run(params.concurrency, params.queue);
      return toQueue(this.mustQueue(params.queue));
    });
  }

  async queueStats(params: { queue?: string; now?: number }): Promise<QueueStats[]> {
    const now = params.now ?? Date.now();
    const queues = params.queue ? [this.mustQueue(params.queue)] : (this.stmt("SELECT * FROM queues ORDER BY name").all() as QueueRow[]);
    return queues.map((q) => {
      const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
      // Each phase is counted from its own partial index.
      const rows = this.stmt(
        `SELECT 'queued' AS status, count(*) AS n FROM jobs WHERE queue = @queue AND status = 'queued'
         UNION ALL SELECT 'running', count(*) FROM jobs WHERE queue = @queue AND status = 'running'
         UNION ALL SELECT status, count(*) FROM jobs WHERE queue = @queue AND status IN ('scheduled', 'blocked') GROUP BY status
         UNION ALL SELECT status, count(*) FROM jobs WHERE queue = @queue AND finished_at IS NOT NULL GROUP BY status`,
      ).all({ queue: q.name }) as { status: JobStatus; n: number }[];
      for (const c of rows) counts[c.status] += c.n;
      const durations = (
        this.stmt(
          `SELECT finished_at - started_at FROM jobs WHERE queue = ? AND finished_at IS NOT NULL AND status = 'completed'
           ORDER BY finished_at DESC LIMIT 1000`,
        )
          .pluck()
          .all(q.name) as number[]
      ).sort((a, b) => a - b);
      const completedLastMinute = this.stmt(
        "SELECT count(*) FROM jobs WHERE queue = ? AND finished_at >= ? AND status = 'completed'",
      )
        .pluck()
        .get(q.name, now - 60_000) as number;
      return {
        queue: q.name,
        state: q.state,
        concurrency: q.concurrency,
        counts,
        durationP50Ms: percentile(durations, 50),
        durationP95Ms: percentile(durations, 95),
        completedLastMinute,
      };
    });
  }

  async queueIsDrained(params: { queue: string }): Promise<boolean> {
    // One probe per partial index: constant time however deep the queue is.
    return (
      this.stmt(
        `SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status = 'queued')
             OR EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status = 'running')
             OR EXISTS (SELECT 1 FROM jobs WHERE queue = @queue AND status IN ('scheduled', 'blocked'))`,
      )
        .pluck()
        .get({ queue: params.queue }) === 0
    );
  }

  // ---------------------------------------------------------------------------------------
  // Escalation rules

  private rules(): EscalationRule[] {
    return (this.stmt("SELECT * FROM escalation_rules").all() as RuleRow[]).map(toRule);
  }

  // ---------------------------------------------------------------------------------------
  // Targets

  async targetSet(params: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target> {
    const t = checkTarget(params.target);
    const now = params.now ?? Date.now();
    return this.write(() => {
      if (!params.replace && this.stmt("SELECT 1 FROM targets WHERE name = ?").get(t.name)) {
        throw new ConflictError(`target "${t.name}" exists; remove it first (runway target rm ${t.name}) or replace it`);
      }
      // A replaced target keeps its creation time and last report: it is the same server, re-described.
      const row = this.stmt(
        `INSERT INTO targets (name, host, port, identity, dir, sync, excludes, concurrency, created_at)
         VALUES (@name, @host, @port, @identity, @dir, @sync, @excludes, @concurrency, @now)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, port = excluded.port, identity = excluded.identity,
           dir = excluded.dir, sync = excluded.sync, excludes = excluded.excludes, concurrency = excluded.concurrency
         RETURNING *`,
      ).get({ ...t, excludes: JSON.stringify(t.excludes), now }) as TargetRow;
      return toTarget(row);
    });
  }

  async targetGet(params: { name: string }): Promise<Target | null> {
    const r = this.stmt("SELECT * FROM targets WHERE name = ?").get(params.name) as TargetRow | undefined;
    return r ? toTarget(r) : null;
  }

  async targetList(): Promise<Target[]> {
    return (this.stmt("SELECT * FROM targets ORDER BY name").all() as TargetRow[]).map(toTarget);
  }

  async targetRemove(params: { name: string }): Promise<boolean> {
    return this.write(() => {
      const active = this.stmt(`SELECT count(*) FROM jobs WHERE target = ? AND status IN ${ACTIVE_SQL}`).pluck().get(params.name) as number;
      if (active > 0) {
        throw new ConflictError(`target "${params.name}" still has ${active} job(s) waiting or running; cancel them or let them finish first`);
      }
      return this.stmt("DELETE FROM targets WHERE name = ?").run(params.name).changes > 0;
    });
  }

  async targetReport(params: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void> {
    this.write(() => {
      this.stmt("UPDATE targets SET reachable = ?, message = ?, checked_at = ? WHERE name = ?").run(
        params.reachable ? 1 : 0,
        params.message,
        params.now ?? Date.now(),
        params.name,
      );
    }, false);
  }

  async targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
    const rows = this.stmt(
      `SELECT target, status, count(*) AS n FROM jobs WHERE target IS NOT NULL AND status IN ${ACTIVE_SQL} GROUP BY target, status`,
    ).all() as { target: string; status: JobStatus; n: number }[];
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
    this.write(() => {
      this.stmt(
        `INSERT INTO escalation_rules (queue, kind, after, to_queue, to_kind) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (queue, kind) DO UPDATE SET after = excluded.after, to_queue = excluded.to_queue, to_kind = excluded.to_kind`,
      ).run(r.queue ?? "", r.kind ?? "", r.after, r.toQueue, r.toKind);
    }, false);
  }

  async escalationList(): Promise<EscalationRule[]> {
    return this.rules();
  }

  async escalationRemove(params: { queue: string | null; kind: string | null }): Promise<boolean> {
    return this.write(
      () => this.stmt("DELETE FROM escalation_rules WHERE queue = ? AND kind = ?").run(params.queue ?? "", params.kind ?? "").changes > 0,
      false,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Cron schedules

  async cronSet(params: { schedule: CronSpec; now?: number }): Promise<CronSchedule> {
    const now = params.now ?? Date.now();
    const c = prepareCron(params.schedule, now);
    const row = this.write(
      () =>
        this.stmt(
          `INSERT INTO cron_schedules (name, pattern, timezone, queue, kind, payload, priority, next_at, created_at)
           VALUES (@name, @pattern, @timezone, @queue, @kind, @payload, @priority, @next_at, @now)
           ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, timezone = excluded.timezone, queue = excluded.queue,
             kind = excluded.kind, payload = excluded.payload, priority = excluded.priority, next_at = excluded.next_at
           RETURNING *`,
        ).get({
          name: c.name, pattern: c.pattern, timezone: c.timezone, queue: c.queue, kind: c.kind,
          payload: c.payloadJson, priority: c.priority, next_at: c.nextAt, now,
        }) as CronRow,
      false,
    );
    return toCron(row);
  }

  async cronList(): Promise<CronSchedule[]> {
    return (this.stmt("SELECT * FROM cron_schedules ORDER BY name").all() as CronRow[]).map(toCron);
  }

  async cronRemove(params: { name: string }): Promise<boolean> {
    return this.write(() => this.stmt("DELETE FROM cron_schedules WHERE name = ?").run(params.name).changes > 0, false);
  }

  async cronFire(params: { now?: number }): Promise<Job[]> {
    const now = params.now ?? Date.now();
    const dueSql = "SELECT * FROM cron_schedules WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at, name";
    // Most calls find nothing due: a read, so the write lock is taken only when there is a tick to fire.
    if (this.stmt(`${dueSql} LIMIT 1`).get(now) === undefined) return [];
    const added = this.write(() => {
      // Under the write lock another process's fire has either committed (and moved next_at on,
      // so the row is no longer due here) or not started: a tick is seen as due by one of them only.
      const due = this.stmt(dueSql).all(now) as CronRow[];
      const jobs: NewJob[] = [];
      for (const s of due) {
        const moved = this.stmt("UPDATE cron_schedules SET next_at = ? WHERE name = ? AND next_at = ?").run(followingTick(s, now), s.name, s.next_at);
        if (moved.changes > 0) jobs.push(cronJob({ ...s, payloadJson: s.payload }, s.next_at!, now));
      }
      return this.addInTransaction(jobs, now);
    }, false);
    const jobs = added.filter((r) => r.created).map((r) => r.job);
    if (jobs.length > 0) this.feed.notify();
    return jobs;
  }
}
