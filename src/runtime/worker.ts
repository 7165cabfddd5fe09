import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { formatDuration } from "../core/duration.js";
import { StoreUnavailableError } from "../core/errors.js";
import { type AbortKind, AttemptAborted, type Handler, type JobContext, PermanentFailure, ReleaseJob } from "../core/handler.js";
import type { Job, Json, RemoteRun } from "../core/job.js";
import type { ClaimedJob, ClaimResult, Finish, FinishOutcome, LeaseStatus, LogLine, Store } from "../store/store.js";
import type { TypedEmitter } from "./events.js";

// A handler's contract lives in core (executors build on it too); it is also found here, next to the worker.
export { type AbortKind, AttemptAborted, type Handler, type JobContext, PermanentFailure, ReleaseJob } from "../core/handler.js";

export interface WorkerOptions {
  /** A handler per kind; the worker only claims jobs of these kinds. */
  handlers: Record<string, Handler<any, any>>;
  /** Queues to take jobs from; all running queues when absent. */
  queues?: string[];
  /** Slots: how many jobs this worker runs at once. Each queue's own limit applies on top. Default 1. */
  concurrency?: number;
  /**
   * Jobs to claim ahead of free slots, from queues without a concurrency limit, into a local
   * buffer: fewer round trips for a busy worker, at the price of strict priority order for jobs
   * added while the buffer is full (as graphile-worker's local queue). Default 0.
   */
  prefetch?: number;
  /** How long a claim is valid without a heartbeat. Default 30 s. */
  leaseMs?: number;
  /** How often running jobs' leases are extended. Default a third of the lease. */
  heartbeatMs?: number;
  /** How often this worker returns jobs of dead workers (expired leases) to their queues. Default 5 s. */
  reaperIntervalMs?: number;
  /** On stop, how long running jobs may take to finish before they are put back in their queue. Default 10 s. */
  shutdownGraceMs?: number;
  /** Stop gracefully on SIGINT/SIGTERM, and at once on a second signal. Default false. */
  handleSignals?: boolean;
  id?: string;
  /** Run only jobs of this remote target, within its limit: a target's lane. Default: only jobs without a target. */
  target?: string;
  /** Return expired leases, tidy the tables and fire cron ticks. A process's extra lanes leave it to its main worker. Default true. */
  housekeeping?: boolean;
  /** Asked before each claim: false holds claiming (e.g. the target is unreachable); the next look, within a second, asks again. */
  gate?: () => boolean;
}

interface Active {
  job: Job;
  token: number;
  /** Made when the handler first reads its signal: most never do, and each costs about half a kilobyte. */
  controller: AbortController | null;
  abortKind: AbortKind | null;
  /** Why the attempt was asked to stop, kept for a signal made after the fact. */
  abortReason: AttemptAborted | null;
  /** The store no longer holds this worker's lease: write nothing more for it. */
  lost: boolean;
  /** The handler has returned and its outcome is on its way to the store: lease checks no longer apply. */
  finishing: boolean;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
}

interface AttemptOps {
  workerId(): string;
  progress(a: Active, value: Json): Promise<void>;
  log(a: Active, line: string): void;
  recordRun(a: Active, run: RemoteRun | null): Promise<void>;
}

/**
 * A handler's view of its attempt. The signal and the helpers are made when first read (they
 * stay bound, so `const { log } = ctx` works): most handlers touch few of them, and a worker
 * holding a thousand attempts in flight keeps only what each one used.
 */
class AttemptContext implements JobContext {
  private boundProgress: JobContext["progress"] | null = null;
  private boundLog: JobContext["log"] | null = null;
  private boundRecordRun: JobContext["recordRun"] | null = null;

  constructor(
    private readonly a: Active,
    private readonly ops: AttemptOps,
  ) {}

  get signal(): AbortSignal {
    const a = this.a;
    if (!a.controller) {
      a.controller = new AbortController();
      if (a.abortReason) a.controller.abort(a.abortReason);
    }
    return a.controller.signal;
  }
  get attempt(): number {
    return this.a.job.attempts;
  }
  get workerId(): string {
    return this.ops.workerId();
  }
  get progress(): JobContext["progress"] {
    return (this.boundProgress ??= (value) => this.ops.progress(this.a, value));
  }
  get log(): JobContext["log"] {
    return (this.boundLog ??= (line) => this.ops.log(this.a, line));
  }
  get recordRun(): JobContext["recordRun"] {
    return (this.boundRecordRun ??= (run) => this.ops.recordRun(this.a, run));
  }
}

/** A result or error that carries a process's exit code (a shell job's) has it recorded with the attempt. */
function exitCodeOf(value: unknown): { exitCode?: number | null } {
  if (value && typeof value === "object" && "exitCode" in value) {
    const code = (value as { exitCode: unknown }).exitCode;
    if (typeof code === "number" || code === null) return { exitCode: code };
  }
  return {};
}

interface Pending {
  finish: Finish;
  active: Active;
  result?: unknown;
}

export class Worker {
  readonly id: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly reaperIntervalMs: number;
  private readonly shutdownGraceMs: number;
  private readonly kinds: string[];
  private readonly active = new Map<string, Active>();
  /** Claimed ahead of a free slot (prefetch); they hold leases and start in claim order. */
  private buffer: ClaimedJob[] = [];
  private readonly prefetch: number;
  /** Active attempts whose handler has returned and whose outcome waits to be written. */
  private finishingCount = 0;
  private pending: Pending[] = [];
  private logBuffer: LogLine[] = [];
  private timers: NodeJS.Timeout[] = [];
  private wakeTimer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private looping = false;
  /** The loop running now, if any: shutdown waits for its claim to land before releasing the buffer. */
  private looped: Promise<void> = Promise.resolve();
  private again = false;
  private failures = 0;
  private lastAbortCheck = 0;
  private abortCheckTimer: NodeJS.Timeout | null = null;
  /** Outcome batches being written without a claim alongside. */
  private inFlight = 0;
  private readonly writing = new Set<Promise<void>>();
  private maintainFailing = false;
  private stopPromise: Promise<void> | null = null;
  private forceStop: (() => void) | null = null;
  private signalHandler: ((sig: NodeJS.Signals) => void) | null = null;
  private cronTimer: NodeJS.Timeout | null = null;
  private cronRun: Promise<void> | null = null;
  private cronFailing = false;

  constructor(
    private readonly store: Store,
    private readonly events: TypedEmitter,
    private readonly opts: WorkerOptions,
    private readonly markActive: (queue: string) => void,
    private readonly maybeDrained: (queue: string) => Promise<void>,
  ) {
    this.id = opts.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.concurrency = opts.concurrency ?? 1;
    this.prefetch = Math.max(0, opts.prefetch ?? 0);
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(50, Math.floor(this.leaseMs / 3));
    this.reaperIntervalMs = opts.reaperIntervalMs ?? 5_000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
    this.kinds = Object.keys(opts.handlers);
    if (this.kinds.length === 0) throw new TypeError("a worker needs at least one handler");
  }

  get runningCount(): number {
    return this.active.size;
  }

  start(): this {
    if (this.state !== "idle") return this;
    this.state = "running";
    this.unwatch = this.store.watch(() => this.onChange());
    this.timers.push(setInterval(() => void this.heartbeat(), this.heartbeatMs));
    // A slow safety net: a missed wake-up costs at most this long.
    this.timers.push(setInterval(() => this.kick(), 1000));
    if (this.opts.handleSignals) this.installSignals();
    if (this.opts.housekeeping ?? true) {
      this.timers.push(setInterval(() => void this.reap(), this.reaperIntervalMs));
      void this.reap();
      this.cronRun = this.fireCron();
    }
    this.kick();
    return this;
  }

  /**
   * Stop claiming, let running jobs finish for up to the grace period, then put the rest back in
   * their queues. Calling it again (or `{ force: true }`) skips the wait.
   */
  stop(opts: { graceMs?: number; force?: boolean } = {}): Promise<void> {
    if (this.stopPromise) {
      if (opts.force) this.forceStop?.();
      return this.stopPromise;
    }
    this.state = "stopping";
    this.stopPromise = this.shutdown(opts.force ? 0 : (opts.graceMs ?? this.shutdownGraceMs));
    return this.stopPromise;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.unwatch?.();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.cronTimer) clearTimeout(this.cronTimer);
    // A claim in flight lands in the buffer; waiting for it keeps its jobs from being held until their leases run out.
    await this.looped;
    // Claimed but never started: back to their queues at once.
    for (const c of this.buffer.splice(0)) this.finishUnstarted(c, "released");
    const forced = new Promise<void>((resolve) => (this.forceStop = resolve));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([this.allDone(), grace, forced]);
    if (this.active.size > 0) {
      for (const a of this.active.values()) this.abort(a, "shutdown");
      // Handlers that honour their signal finish now and are released by the flush below; the
      // rest are released directly, and their late results will find the token gone.
      await Promise.race([this.allDone(), new Promise((r) => setTimeout(r, 250).unref()), forced]);
    }
    await this.flush();
    const left = [...this.active.values()];
    if (left.length > 0) {
      await this.withRetry(() =>
        this.store.jobFinishMany({ finishes: left.map((a) => ({ id: a.job.id, token: a.token, outcome: "released" as const })) }),
      );
      for (const a of left) {
        a.lost = true;
        if (this.active.delete(a.job.id) && a.finishing) this.finishingCount--;
      }
    }
    await this.flushLogs();
    // A fire in flight may still be writing; the store must not close under it.
    await this.cronRun;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.abortCheckTimer) clearTimeout(this.abortCheckTimer);
    this.removeSignals();
    this.state = "stopped";
  }

  private async allDone(): Promise<void> {
    while (this.active.size > 0 || this.pending.length > 0) {
      await Promise.all([...this.active.values()].map((a) => a.done));
      // Outcomes already on their way are awaited too: waiting on settled promises alone would
      // spin without ever letting their I/O finish.
      await Promise.all([...this.writing]);
      await this.flush();
      if (this.active.size > 0 && this.writing.size === 0 && this.pending.length === 0) {
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  private installSignals(): void {
    let count = 0;
    this.signalHandler = (sig) => {
      count++;
      if (count === 1) {
        this.events.emit("warning", { message: `${sig}: stopping; running jobs get ${formatDuration(this.shutdownGraceMs)} to finish (send again to stop now)` });
        void this.stop();
      } else {
        this.events.emit("warning", { message: `${sig} again: putting running jobs back in their queues now` });
        void this.stop({ force: true });
      }
    };
    process.on("SIGINT", this.signalHandler);
    process.on("SIGTERM", this.signalHandler);
  }

  private removeSignals(): void {
    if (!this.signalHandler) return;
    process.off("SIGINT", this.signalHandler);
    process.off("SIGTERM", this.signalHandler);
    this.signalHandler = null;
  }

  // ---------------------------------------------------------------------------------------
  // The loop: claim into free slots, run, finish in batches, claim again.

  private onChange(): void {
    this.kick();
    if (this.active.size === 0 && this.buffer.length === 0) return;
    // At most one lease check per 50 ms, and never a change left unchecked: a check that is
    // too soon is put off to the end of the interval instead of dropped.
    const wait = 50 - (Date.now() - this.lastAbortCheck);
    if (wait <= 0) void this.checkAborts();
    else if (!this.abortCheckTimer) {
      this.abortCheckTimer = setTimeout(() => {
        this.abortCheckTimer = null;
        void this.checkAborts();
      }, wait);
    }
  }

  private kick(): void {
    if (this.state !== "running") return;
    if (this.looping) {
      this.again = true;
      return;
    }
    this.looped = this.loop();
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      do {
        this.again = false;
        if (this.state !== "running") {
          await this.flush();
          break;
        }
        if (this.flushing) await this.flushing;
        // Finished attempts free their slots in the same transaction that fills them again.
        const batch = this.pending;
        this.pending = [];
        // Taken after the batch: every line its handlers logged is written before their outcome.
        await this.flushLogs();
        // Slots free now (finishing attempts count as free), less what the buffer already holds;
        // prefetch tops the buffer up only when it has run half empty.
        const slots = this.concurrency - (this.active.size - this.finishingCount);
        const limit = Math.max(0, slots - this.buffer.length);
        const room = this.prefetch - Math.max(0, this.buffer.length - slots);
        const extra = this.prefetch > 0 && room >= this.prefetch / 2 ? room : 0;
        if (limit + extra <= 0 && batch.length === 0) break;
        const open = !this.opts.gate || this.opts.gate();
        const claim = {
          workerId: this.id,
          limit: open ? limit : 0,
          prefetch: open ? extra : 0,
          leaseMs: this.leaseMs,
          queues: this.opts.queues ?? null,
          kinds: this.kinds,
          target: this.opts.target ?? null,
        };
        if (!open && batch.length === 0) break;
        if (claim.limit + claim.prefetch <= 0 && batch.length > 0) {
          // Nothing to claim: only outcomes to write. Up to two such batches are in flight at
          // once, so the next batch gathers while the database works on the last one.
          if (this.inFlight >= 2) {
            this.pending.unshift(...batch);
            break;
          }
          this.inFlight++;
          const writing: Promise<void> = this.finishBatch(batch).finally(() => {
            this.inFlight--;
            this.writing.delete(writing);
            this.kick();
          });
          this.writing.add(writing);
          continue;
        }
        let claimed: ClaimResult;
        if (batch.length > 0) {
          const now = Date.now();
          try {
            const r = await this.store.jobFinishAndClaim({ finishes: batch.map((b) => b.finish), claim, now });
            claimed = r;
            await this.afterFinish(batch, r.outcomes, now);
          } catch (err) {
            this.pending.unshift(...batch);
            throw err;
          }
        } else {
          claimed = await this.store.jobClaim(claim);
        }
        const { jobs, nextRunAt } = claimed;
        if (this.failures > 0) {
          this.events.emit("warning", { message: `${this.store.location} is reachable again; carrying on` });
          this.failures = 0;
        }
        this.buffer.push(...jobs);
        this.fill();
        if (jobs.length > 0 && jobs.length === limit + extra) this.again = true;
        if (jobs.length === 0 && nextRunAt !== null) this.wakeAt(nextRunAt);
      } while (this.again && this.state === "running");
    } catch (err) {
      this.failures++;
      const delay = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 9));
      // One line when the trouble starts, not one per retry.
      if (this.failures === 1) {
        this.events.emit("warning", { message: `cannot reach ${this.store.location}: ${(err as Error).message}; retrying with backoff`, error: err });
      }
      setTimeout(() => this.kick(), delay).unref();
    } finally {
      this.looping = false;
    }
  }

  private wakeAt(at: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 1);
    this.wakeTimer.unref();
  }

  /** Starts buffered jobs while slots are free. */
  private fill(): void {
    while (this.buffer.length > 0 && this.state === "running" && this.active.size - this.finishingCount < this.concurrency) {
      const c = this.buffer.shift()!;
      this.run(c.job, c.token);
    }
  }

  private run(job: Job, token: number): void {
    const a: Active = {
      job,
      token,
      controller: null,
      abortKind: null,
      abortReason: null,
      lost: false,
      finishing: false,
      startedAt: Date.now(),
      timer: null,
      done: Promise.resolve(),
    };
    this.active.set(job.id, a);
    this.markActive(job.queue);
    if (job.timeoutMs) a.timer = setTimeout(() => this.abort(a, "timeout"), job.timeoutMs);
    this.events.emit("started", { job, workerId: this.id });
    a.done = this.execute(a);
  }

  /** What an attempt's context does, made once per worker rather than once per attempt. */
  private readonly attemptOps: AttemptOps = {
    workerId: () => this.id,
    progress: async (a, value) => {
      if (a.lost) return;
      if (await this.store.jobProgress({ id: a.job.id, token: a.token, progress: value })) {
        this.events.emit("progress", { job: a.job, progress: value });
      }
    },
    log: (a, line) => {
      if (a.lost) return;
      this.logBuffer.push({ jobId: a.job.id, attempt: a.job.attempts, at: Date.now(), line: String(line) });
      this.events.emit("log", { job: a.job, line: String(line) });
    },
    recordRun: async (a, run) => {
      if (a.lost || !(await this.store.jobRemoteSet({ id: a.job.id, token: a.token, remote: run }))) {
        throw new AttemptAborted("lease-lost", "the worker lost the job's lease");
      }
      a.job.remote = run;
    },
  };

  private async execute(a: Active): Promise<void> {
    const handler = this.opts.handlers[a.job.kind]!;
    const ctx = new AttemptContext(a, this.attemptOps);
    let finish: Finish;
    let result: unknown;
    try {
      result = await handler(a.job, ctx);
      finish = a.abortKind === "timeout"
        ? { id: a.job.id, token: a.token, outcome: "failed", error: this.timeoutMessage(a) }
        : { id: a.job.id, token: a.token, outcome: "completed", result, ...exitCodeOf(result) };
    } catch (err) {
      finish = this.failureFor(a, err);
    }
    if (a.timer) clearTimeout(a.timer);
    if (a.lost) {
      this.active.delete(a.job.id);
      this.fill();
      this.kick();
      return;
    }
    a.finishing = true;
    this.finishingCount++;
    this.pending.push({ finish, active: a, result });
    // The slot is free as soon as the handler is done; the outcome is written with the next batch.
    this.fill();
    this.scheduleFlush();
  }

  /** Ends a buffered job that never ran: cancelled on request, or put back in its queue. */
  private finishUnstarted(c: ClaimedJob, outcome: "cancelled" | "released"): void {
    const a: Active = {
      job: c.job,
      token: c.token,
      controller: null,
      abortKind: null,
      abortReason: null,
      lost: false,
      finishing: true,
      startedAt: Date.now(),
      timer: null,
      done: Promise.resolve(),
    };
    this.active.set(c.job.id, a);
    this.finishingCount++;
    const finish: Finish =
      outcome === "cancelled"
        ? { id: c.job.id, token: c.token, outcome: "cancelled", error: "cancelled before it started" }
        : { id: c.job.id, token: c.token, outcome: "released" };
    this.pending.push({ finish, active: a });
    this.scheduleFlush();
  }

  private timeoutMessage(a: Active): string {
    return `timed out after ${formatDuration(a.job.timeoutMs ?? 0)}`;
  }

  private failureFor(a: Active, err: unknown): Finish {
    const base = { id: a.job.id, token: a.token };
    switch (a.abortKind) {
      case "cancel":
        return { ...base, outcome: "cancelled", error: "cancelled while running" };
      case "requeue":
      case "shutdown":
        return { ...base, outcome: "released" };
      case "timeout":
        return { ...base, outcome: "failed", error: this.timeoutMessage(a), ...exitCodeOf(err) };
      default: {
        if (err instanceof ReleaseJob) return { ...base, outcome: "released" };
        const message = err instanceof Error ? err.message || err.name : String(err);
        return { ...base, outcome: "failed", error: message, retryable: !(err instanceof PermanentFailure), ...exitCodeOf(err) };
      }
    }
  }

  private flushScheduled = false;
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Every handler that settles in this turn of the event loop is committed in one transaction.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.state === "running") this.kick();
      else void this.flush();
    });
  }

  private flushing: Promise<void> | null = null;
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    if (this.pending.length === 0 && this.logBuffer.length === 0) return Promise.resolve();
    this.flushing = this.doFlush().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    await this.flushLogs();
    if (batch.length > 0) await this.finishBatch(batch);
  }

  /** Writes a batch of outcomes. Completions that fail to commit are retried until they commit: the work is done and must not be lost. */
  private async finishBatch(batch: Pending[]): Promise<void> {
    const now = Date.now();
    const outcomes = await this.withRetry(() =>
      this.store.jobFinishMany({ finishes: batch.map((b) => b.finish), now, returnJobs: false }),
    );
    await this.afterFinish(batch, outcomes, now);
  }

  private async afterFinish(batch: Pending[], outcomes: FinishOutcome[], now: number): Promise<void> {
    const queues = new Set<string>();
    for (const [i, o] of outcomes.entries()) {
      const b = batch[i]!;
      if (this.active.delete(b.active.job.id) && b.active.finishing) this.finishingCount--;
      queues.add(b.active.job.queue);
      this.report(b.finish, o, b.active, b.result, now);
    }
    await Promise.all([...queues].map((q) => this.maybeDrained(q)));
  }

  private async flushLogs(): Promise<void> {
    if (this.logBuffer.length === 0) return;
    const lines = this.logBuffer;
    this.logBuffer = [];
    await this.withRetry(() => this.store.jobLogAppend({ lines }));
  }

  private report(finish: Finish, o: FinishOutcome, a: Active, result: unknown, now: number): void {
    if (!o.ok) {
      this.events.emit("warning", { message: `job ${a.job.id}: lease lost before the attempt ended; its outcome was not recorded` });
      return;
    }
    if (o.status === "completed") {
      if (!this.events.listenerCount("completed")) return;
      const exitCode = "exitCode" in finish && finish.exitCode !== undefined ? finish.exitCode : a.job.exitCode;
      const job = o.job ?? { ...a.job, status: "completed" as const, result: result ?? null, exitCode, finishedAt: now, leaseExpiresAt: null };
      this.events.emit("completed", { job, result, durationMs: now - a.startedAt });
      return;
    }
    const job = o.job!;
    if (o.status === "cancelled") {
      this.events.emit("cancelled", { job });
    } else if (o.escalatedTo) {
      this.events.emit("escalated", { job, error: job.error ?? "", to: o.escalatedTo });
      const to = o.escalatedTo;
      this.store
        .jobGet({ id: to })
        .then((successor) => successor && this.events.emit("added", { job: successor }))
        .catch(() => {});
    } else if (o.status === "failed") {
      this.events.emit("failed", { job, error: job.error ?? "" });
    } else if (finish.outcome === "failed" && o.retryAt !== null) {
      this.events.emit("retrying", { job, error: finish.error, retryAt: o.retryAt });
    }
  }

  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        const delay = Math.min(10_000, 50 * 2 ** Math.min(i, 8));
        if (i === 0) {
          this.events.emit("warning", { message: `cannot write to ${this.store.location}: ${(err as Error).message}; retrying until it commits`, error: err });
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Leases

  private abort(a: Active, kind: AbortKind): void {
    if (a.abortKind) return;
    a.abortKind = kind;
    const reasons: Record<AbortKind, string> = {
      cancel: "the job was cancelled",
      requeue: "the queue was stopped",
      timeout: this.timeoutMessage(a),
      "lease-lost": "the worker lost the job's lease",
      shutdown: "the worker is shutting down",
    };
    a.abortReason = new AttemptAborted(kind, reasons[kind]);
    a.controller?.abort(a.abortReason);
  }

  private apply(statuses: LeaseStatus[]): void {
    for (const s of statuses) {
      const b = this.buffer.findIndex((c) => c.job.id === s.id);
      if (b >= 0) {
        // Not started yet: a lost one is simply dropped, a cancelled or stopped one ends without running.
        if (s.ok && !s.abort) continue;
        const [c] = this.buffer.splice(b, 1);
        if (s.ok) this.finishUnstarted(c!, s.abort === "cancel" ? "cancelled" : "released");
        continue;
      }
      const a = this.active.get(s.id);
      if (!a || a.finishing) continue;
      if (!s.ok) {
        a.lost = true;
        this.abort(a, "lease-lost");
        this.events.emit("warning", { message: `job ${s.id}: lease lost (another worker may run it); stopping this attempt` });
      } else if (s.abort) {
        this.abort(a, s.abort);
      }
    }
  }

  private leases() {
    const running = [...this.active.values()].filter((a) => !a.lost && !a.finishing).map((a) => ({ id: a.job.id, token: a.token }));
    return [...running, ...this.buffer.map((c) => ({ id: c.job.id, token: c.token }))];
  }

  private async checkAborts(): Promise<void> {
    this.lastAbortCheck = Date.now();
    try {
      this.apply(await this.store.jobLeaseCheck({ leases: this.leases() }));
    } catch {
      // The next heartbeat reports persistent trouble.
    }
  }

  private async heartbeat(): Promise<void> {
    const leases = this.leases();
    if (leases.length === 0) return;
    try {
      this.apply(await this.store.jobHeartbeat({ leases, leaseMs: this.leaseMs }));
    } catch (err) {
      this.events.emit("warning", { message: `heartbeat failed: ${(err as Error).message}`, error: err });
    }
  }

  /** Every worker fires due cron ticks; the store makes sure each tick is fired by one of them only. */
  private async fireCron(): Promise<void> {
    this.cronTimer = null;
    if (this.state !== "running") return;
    try {
      const jobs = await this.store.cronFire({});
      this.cronFailing = false;
      for (const job of jobs) {
        this.markActive(job.queue);
        this.events.emit("added", { job });
      }
      // The claim loop may be asleep until a scheduled job falls due; these jobs are ready now.
      if (jobs.length > 0) this.kick();
    } catch (err) {
      // A store that cannot be reached is already reported by the claim loop.
      if (!this.cronFailing && !(err instanceof StoreUnavailableError)) {
        this.events.emit("warning", { message: `cron: ${(err as Error).message}`, error: err });
      }
      this.cronFailing = true;
    }
    if (this.state !== "running") return;
    // Ticks fall on whole seconds: looking just after each second turns fires a tick within
    // milliseconds of its time instead of up to a second late.
    this.cronTimer = setTimeout(() => {
      this.cronRun = this.fireCron();
    }, 1005 - (Date.now() % 1000));
  }

  private async reap(): Promise<void> {
    // Table upkeep rides on the reaper's timer; trouble with it is reported once, never fatal.
    this.store.storeMaintain({}).then(
      () => (this.maintainFailing = false),
      (err: Error) => {
        if (!this.maintainFailing) this.events.emit("warning", { message: `table upkeep: ${err.message}`, error: err });
        this.maintainFailing = true;
      },
    );
    try {
      const r = await this.store.jobReapExpired({});
      if (r.requeued.length + r.failed.length + r.cancelled.length > 0) {
        this.events.emit("warning", {
          message: `recovered jobs of dead workers: ${r.requeued.length} requeued, ${r.failed.length} failed, ${r.cancelled.length} cancelled`,
        });
        this.kick();
      }
    } catch (err) {
      this.events.emit("warning", { message: `reaper: ${(err as Error).message}`, error: err });
    }
  }
}
