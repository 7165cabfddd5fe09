import type { CronSchedule, CronSpec } from "../core/cron.js";
import { parseDuration } from "../core/duration.js";
import { ValidationError } from "../core/errors.js";
import type { Attempt, EscalationRule, Job, JobStatus, QueueInfo } from "../core/job.js";
import { type JobSpec, assertName, prepareJobs } from "../core/spec.js";
import type { Target, TargetSpec } from "../core/target.js";
import { type OpenStoreOptions, openStore } from "../store/open-store.js";
import type { JobListParams, MoveTarget, QueueStats, Store, StoredLogLine, TimelineBucket } from "../store/store.js";
import { TypedEmitter } from "./events.js";
import { Maintenance } from "./maintenance/maintenance.js";
import { type Handler, Worker, type WorkerOptions } from "./worker.js";

// The shapes the API takes and returns, so its callers (the CLI, the HTTP server) need not reach into the store.
export type { JobListParams, MoveTarget, QueueStats, StoredLogLine, TimelineBucket } from "../store/store.js";
export { runwayHome } from "../store/open-store.js";

/** Options of `add`: everything in a job spec except the kind and payload. */
export type AddOptions = Omit<JobSpec, "kind" | "payload">;

export interface RunwayOptions {
  /**
   * Delete finished jobs (with their attempts and logs) this long after they finished: ms or a
   * duration such as "30d". Done by the maintenance leader once a minute. Default: kept until pruned.
   */
  retention?: number | string;
}

export interface OpenOptions extends OpenStoreOptions, RunwayOptions {
  /** A SQLite file path or a postgres:// URL (default: RUNWAY_DB, DATABASE_URL, else ~/.runway/runway.db), or an open Store. */
  db?: string | Store;
}

/** A map from kind to payload type, for typed `add` and handlers; untyped by default. */
export type JobTypes = Record<string, any>;

export type Handlers<T extends JobTypes> = { [K in keyof T]?: Handler<T[K]> };

/**
 * One runway: a store plus the events of what this process does with it. Everything a person
 * can do to jobs and queues is here; `worker()` runs them.
 */
export class Runway<T extends JobTypes = JobTypes> extends TypedEmitter {
  readonly store: Store;
  private readonly workers = new Set<Worker>();
  private readonly drained = new Set<string>();
  /** Shared by this runway's workers: the reaper, cron ticks and upkeep run once per store, not once per worker. */
  private readonly maintenance: Maintenance;
  private closed = false;

  constructor(store: Store, options: RunwayOptions = {}) {
    super();
    this.store = store;
    const retentionMs = options.retention === undefined ? null : parseDuration(options.retention, "retention");
    this.maintenance = new Maintenance(store, this, (queue) => this.drained.delete(queue), { retentionMs });
    // An event nobody listens to is dropped; a warning nobody listens to is printed.
    this.on("warning", ({ message }) => {
      if (this.listenerCount("warning") === 1) process.emitWarning(message, "RunwayWarning");
    });
  }

  /** Where the store lives, for messages: a file path, or a URL without its password. */
  get location(): string {
    return this.store.location;
  }

  /**
   * Calls `onChange` soon after any process, on any machine, commits a change that could matter
   * to a worker (a job added, a queue resumed…); returns the function that stops it. It is a
   * hint for views that refresh on change: not every write is announced, so look now and then too.
   */
  watch(onChange: () => void): () => void {
    return this.store.watch(onChange);
  }

  /**
   * Adds one job. With a `key` held by an active job in the queue, returns that job instead.
   * `client` (PostgreSQL): a pg client inside your own transaction; the job exists only if it commits.
   */
  async add<K extends keyof T & string>(
    kind: K,
    payload: T[K],
    options: AddOptions & { client?: unknown } = {},
  ): Promise<Job<T[K]>> {
    const { client, ...spec } = options;
    const [job] = await this.addMany([{ ...spec, kind, payload }], client === undefined ? {} : { client });
    return job as Job<T[K]>;
  }

  /** Adds jobs in one transaction: all of them or, on any error, none. */
  async addMany(specs: JobSpec[], options: { client?: unknown } = {}): Promise<Job[]> {
    if (!Array.isArray(specs)) throw new ValidationError("jobs", "addMany takes an array of job specs");
    if (specs.length === 0) return [];
    const results = await this.store.jobAddMany({ jobs: prepareJobs(specs), ...options });
    for (const r of results) {
      if (!r.created) continue;
      this.drained.delete(r.job.queue);
      this.emit("added", { job: r.job });
    }
    return results.map((r) => r.job);
  }

  /** Starts a worker in this process. */
  worker(options: Omit<WorkerOptions, "handlers"> & { handlers: Handlers<T> }): Worker {
    const w = new Worker(
      this.store,
      this,
      options as WorkerOptions,
      (queue) => this.drained.delete(queue),
      (queue) => this.checkDrained(queue),
      this.maintenance,
    );
    this.workers.add(w);
    return w.start();
  }

  /** Emits `drained` once when the queue has nothing left to do; `add` and claims re-arm it. */
  private async checkDrained(queue: string): Promise<void> {
    // Nobody listening: no look at the store (a thousand queues finishing a job each would cost a thousand).
    if (this.drained.has(queue) || this.listenerCount("drained") === 0) return;
    if (!(await this.store.queueIsDrained({ queue }))) return;
    this.drained.add(queue);
    this.emit("drained", { queue });
  }

  get(id: string): Promise<Job | null> {
    return this.store.jobGet({ id });
  }
  list(params: JobListParams = {}): Promise<Job[]> {
    return this.store.jobList(params);
  }
  attempts(id: string): Promise<Attempt[]> {
    return this.store.jobAttempts({ id });
  }
  logs(id: string, afterSeq = 0): Promise<StoredLogLine[]> {
    return this.store.jobLogs({ id, afterSeq });
  }
  /** The escalation chain a job belongs to, first to last. */
  chain(id: string): Promise<Job[]> {
    return this.store.jobChain({ id });
  }

  /** A queued, scheduled or blocked job ends cancelled; a running one has its AbortSignal fired. */
  async cancel(id: string): Promise<Job> {
    const job = await this.store.jobCancel({ id });
    // A running job is reported by its worker once the attempt has stopped.
    if (job.status === "cancelled") {
      this.emit("cancelled", { job });
      await this.checkDrained(job.queue);
    }
    return job;
  }
  async skip(id: string): Promise<Job> {
    const job = await this.store.jobSkip({ id });
    this.emit("skipped", { job });
    await this.checkDrained(job.queue);
    return job;
  }
  /** A failed, cancelled or skipped job goes back to its queue with fresh attempts; jobs skipped because of it wait again. */
  requeue(id: string): Promise<Job> {
    return this.store.jobRequeue({ id });
  }
  move(id: string, to: MoveTarget): Promise<Job> {
    return this.store.jobMove({ id, to });
  }

  /** Creates the queue if needed and sets what is given. */
  queue(name: string, settings: { concurrency?: number | null } = {}): Promise<QueueInfo> {
    return this.store.queueEnsure({ queue: name, ...settings });
  }
  queues(): Promise<QueueInfo[]> {
    return this.store.queueList();
  }
  /** The queue of that name, or null when nothing created it yet (reading never creates one). */
  getQueue(name: string): Promise<QueueInfo | null> {
    return this.store.queueGet({ queue: name });
  }
  /**
   * True when nothing is queued, scheduled, blocked or running in the queue, as seen by every
   * process; a queue that does not exist has drained too. The `drained` event announces the same
   * moment for this process's own work.
   */
  isDrained(queue: string): Promise<boolean> {
    return this.store.queueIsDrained({ queue });
  }
  /** No new claims; running attempts finish. */
  pause(queue: string): Promise<QueueInfo> {
    return this.store.queueSetState({ queue, state: "paused" });
  }
  resume(queue: string): Promise<QueueInfo> {
    return this.store.queueSetState({ queue, state: "running" });
  }
  /** Paused, and running attempts are stopped and their jobs put back in the queue. */
  stop(queue: string): Promise<QueueInfo> {
    return this.store.queueSetState({ queue, state: "stopped" });
  }
  setConcurrency(queue: string, concurrency: number | null): Promise<QueueInfo> {
    return this.store.queueSetConcurrency({ queue, concurrency });
  }
  stats(queue?: string): Promise<QueueStats[]> {
    return this.store.queueStats(queue === undefined ? {} : { queue });
  }
  /**
   * Completions and failures per slice of `bucketMs` since `since` (epoch ms), oldest first, for
   * throughput and duration charts; slices in which nothing ended are left out.
   */
  timeline(params: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]> {
    return this.store.jobTimeline(params);
  }

  /** Deletes finished jobs that finished longer ago than `olderThan` (ms or "7d"). */
  async prune(params: { olderThan: number | string; queue?: string }): Promise<{ deleted: number }> {
    const olderThanMs = parseDuration(params.olderThan, "olderThan");
    return this.store.jobPrune({ olderThanMs, ...(params.queue ? { queue: params.queue } : {}) });
  }

  /**
   * After `after` failed attempts of a job on `queue` and/or of `kind`, end it failed and add a
   * successor with the same payload on `toQueue` and/or `toKind`.
   */
  async escalate(rule: { queue?: string; kind?: string; after: number; toQueue?: string; toKind?: string }): Promise<void> {
    const full: EscalationRule = {
      queue: rule.queue ?? null,
      kind: rule.kind ?? null,
      after: rule.after,
      toQueue: rule.toQueue ?? null,
      toKind: rule.toKind ?? null,
    };
    if (full.queue) assertName(full.queue, "queue");
    return this.store.escalationSet({ rule: full });
  }
  escalations(): Promise<EscalationRule[]> {
    return this.store.escalationList();
  }
  /** Removes the rule set for this queue and/or kind; false: there was none. */
  removeEscalation(rule: { queue?: string; kind?: string }): Promise<boolean> {
    return this.store.escalationRemove({ queue: rule.queue ?? null, kind: rule.kind ?? null });
  }

  /**
   * Adds a job of `kind` with `payload` at each tick of `pattern` (cron syntax; six fields for
   * seconds), read in `timezone` (default this process's). Setting a name again replaces that
   * schedule. The maintenance leader fires the ticks, each exactly once however many workers run;
   * ticks missed while no worker ran fire once, not one by one.
   */
  cron(schedule: CronSpec): Promise<CronSchedule> {
    return this.store.cronSet({ schedule });
  }
  crons(): Promise<CronSchedule[]> {
    return this.store.cronList();
  }
  /** false: there was no schedule of that name. */
  uncron(name: string): Promise<boolean> {
    return this.store.cronRemove({ name });
  }

  /**
   * Adds a target: a remote host that jobs added with `target: name` run on, over SSH (`runway
   * worker` runs them). A target of the same name is refused unless `replace` is set; running
   * workers pick up the change on their own.
   */
  target(spec: TargetSpec, options: { replace?: boolean } = {}): Promise<Target> {
    return this.store.targetSet({ target: spec, replace: !!options.replace });
  }
  targets(): Promise<Target[]> {
    return this.store.targetList();
  }
  getTarget(name: string): Promise<Target | null> {
    return this.store.targetGet({ name });
  }
  /** Refused while jobs wait for the target or run on it; false: there was no target of that name. */
  removeTarget(name: string): Promise<boolean> {
    return this.store.targetRemove({ name });
  }
  /**
   * Records what the last contact with a target found (`message`: why it failed), which listings
   * show. Workers that run a target's jobs report on their own; this is for checks made outside them.
   */
  reportTarget(name: string, contact: { reachable: boolean; message: string | null }): Promise<void> {
    return this.store.targetReport({ name, ...contact });
  }
  /** Each target's waiting and running jobs by status; a target with none is left out. */
  targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
    return this.store.targetCounts();
  }

  /** Stops this process's workers (gracefully, as `worker.stop()`) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    await this.store.close();
  }
}

/** Opens a runway on a SQLite file (the default), a PostgreSQL URL, or a given store. */
export function open<T extends JobTypes = JobTypes>(options: OpenOptions = {}): Runway<T> {
  const { db, retention, ...storeOptions } = options;
  // Checked before the store is opened, so bad input leaves nothing open behind it.
  const runwayOptions = retention === undefined ? {} : { retention: parseDuration(retention, "retention") };
  let runway: Runway<T> | null = null;
  // The store's own trouble (a lost connection) reaches the runway's warning event.
  const onWarning = (message: string) => (runway ? runway.emit("warning", { message }) : process.emitWarning(message, "RunwayWarning"));
  const store = typeof db === "object" && db !== null ? db : openStore(db, { onWarning, ...storeOptions });
  runway = new Runway<T>(store, runwayOptions);
  return runway;
}
