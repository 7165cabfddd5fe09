import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Handler } from "../core/handler.js";
import type { Store } from "../store/store.js";
import type { TypedEmitter } from "./events.js";
import { Maintenance } from "./maintenance/maintenance.js";
import { type Attempt, Attempts, type Ending } from "./worker/attempt.js";
import { Completer } from "./worker/completer.js";
import { Executor } from "./worker/executor.js";
import { Leases } from "./worker/leases.js";
import { Producer } from "./worker/producer.js";
import { stopOnSignals } from "./worker/signals.js";

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
  /**
   * How often the reaper returns jobs of dead workers (expired leases) to their queues, when this
   * process leads maintenance. Default 5 s.
   */
  reaperIntervalMs?: number;
  /** On stop, how long running jobs may take to finish before they are put back in their queue. Default 10 s. */
  shutdownGraceMs?: number;
  /** Stop gracefully on SIGINT/SIGTERM, and at once on a second signal. Default false. */
  handleSignals?: boolean;
  id?: string;
  /** Run only jobs of this remote target, within its limit: a target's lane. Default: only jobs without a target. */
  target?: string;
  /**
   * Take part in maintenance (returning expired leases, tidying the tables, firing cron ticks):
   * one process per store leads it. A process's extra lanes leave it to its main worker. Default true.
   */
  housekeeping?: boolean;
  /** Asked before each claim: false holds claiming (e.g. the target is unreachable); the next look, within a second, asks again. */
  gate?: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Claims jobs and runs them. The work is done by parts with one role each, wired here:
 * - the producer claims jobs into free slots and a local buffer, and knows when to look again;
 * - the executor runs one attempt: its context, its AbortSignal, its timeout;
 * - the completer writes attempts' ends in batches (with the next claim when it can) and log lines;
 * - leases keeps what is claimed claimed (heartbeats) and stops attempts asked to stop;
 * - maintenance (the reaper, cron ticks, table upkeep), shared by the runway's workers and done
 *   only while this process leads it.
 */
export class Worker {
  readonly id: string;
  private readonly attempts = new Attempts();
  private readonly completer: Completer;
  private readonly executor: Executor;
  private readonly producer: Producer;
  private readonly leases: Leases;
  private readonly maintenance: Maintenance | null;
  private readonly shutdownGraceMs: number;
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private unwatch: (() => void) | null = null;
  private removeSignals: (() => void) | null = null;
  private leaveMaintenance: (() => Promise<void>) | null = null;
  private stopPromise: Promise<void> | null = null;
  private forceStop: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly events: TypedEmitter,
    private readonly opts: WorkerOptions,
    markActive: (queue: string) => void,
    maybeDrained: (queue: string) => Promise<void>,
    maintenance?: Maintenance,
  ) {
    this.id = opts.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    const kinds = Object.keys(opts.handlers);
    if (kinds.length === 0) throw new TypeError("a worker needs at least one handler");
    const leaseMs = opts.leaseMs ?? 30_000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
    this.maintenance = (opts.housekeeping ?? true) ? (maintenance ?? new Maintenance(store, events, markActive)) : null;
    const attempts = this.attempts;
    const running = () => this.state === "running";
    this.completer = new Completer({ store, events, attempts, maybeDrained, running, wake: () => this.producer.kick() });
    this.executor = new Executor({
      workerId: this.id,
      handlers: opts.handlers,
      store,
      events,
      attempts,
      markActive,
      log: (a, line) => this.completer.log(a, line),
      settled: (a, ending) => this.settled(a, ending),
    });
    this.producer = new Producer(
      {
        workerId: this.id,
        concurrency: opts.concurrency ?? 1,
        prefetch: Math.max(0, opts.prefetch ?? 0),
        leaseMs,
        queues: opts.queues ?? null,
        kinds,
        target: opts.target ?? null,
        gate: opts.gate,
      },
      { store, events, attempts, completer: this.completer, running, start: (c) => this.executor.start(c.job, c.token) },
    );
    this.leases = new Leases({
      store,
      events,
      attempts,
      buffer: this.producer.buffer,
      leaseMs,
      heartbeatMs: opts.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
      abort: (a, kind) => this.executor.abort(a, kind),
      endUnstarted: (c, outcome) => this.completer.endUnstarted(c, outcome),
    });
  }

  get runningCount(): number {
    return this.attempts.size;
  }

  start(): this {
    if (this.state !== "idle") return this;
    this.state = "running";
    this.unwatch = this.store.watch(() => {
      this.producer.kick();
      this.leases.changed();
    });
    this.leases.start();
    if (this.opts.handleSignals) {
      this.removeSignals = stopOnSignals(this.events, this.shutdownGraceMs, (force) => void this.stop(force ? { force } : {}));
    }
    this.leaveMaintenance = this.maintenance?.join({ reaperIntervalMs: this.opts.reaperIntervalMs ?? 5_000, wake: () => this.producer.kick() }) ?? null;
    this.producer.start();
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

  /** A handler returned: its slot is free at once, and its outcome goes with the next batch. */
  private settled(a: Attempt, ending: Ending | null): void {
    if (!ending) {
      // The lease was lost: nothing may be written for it.
      this.attempts.remove(a);
      this.producer.fill();
      this.producer.kick();
      return;
    }
    this.attempts.markFinishing(a);
    this.completer.add(ending);
    this.producer.fill();
    this.completer.scheduleFlush();
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.unwatch?.();
    // Another process may take the lead at once; what this one has under way is awaited at the end.
    const leftMaintenance = this.leaveMaintenance?.();
    // A claim in flight lands in the buffer; waiting for it keeps its jobs from being held until their leases run out.
    await this.producer.halt();
    // Claimed but never started: back to their queues at once.
    for (const c of this.producer.buffer.takeAll()) this.completer.endUnstarted(c, "released");
    const forced = new Promise<void>((resolve) => (this.forceStop = resolve));
    await Promise.race([this.completer.drain(), sleep(graceMs), forced]);
    if (this.attempts.size > 0) {
      for (const a of this.attempts.values()) this.executor.abort(a, "shutdown");
      // Handlers that honour their signal finish now and are released by the flush below; the
      // rest are released directly, and their late results will find the token gone.
      await Promise.race([this.completer.drain(), sleep(250), forced]);
    }
    await this.completer.flush();
    await this.completer.releaseRunning([...this.attempts.values()]);
    await this.completer.flushLogs();
    // Maintenance in flight may still be writing; the store must not close under it.
    await leftMaintenance;
    this.leases.stop();
    this.removeSignals?.();
    this.state = "stopped";
  }
}
