import type { ClaimedJob, ClaimParams, ClaimResult, Finish, FinishOutcome, LogLine, Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";
import { type Attempt, type Attempts, type Ending, newAttempt } from "./attempt.js";

export interface CompleterDeps {
  store: Store;
  events: TypedEmitter;
  attempts: Attempts;
  maybeDrained(queue: string): Promise<void>;
  running(): boolean;
  /** Has the claim loop take the waiting outcomes and write them with its next claim. */
  wake(): void;
}

/**
 * Writes what attempts end with, in batches: while the worker runs, with the next claim (one
 * transaction frees the slots and fills them again), or alone when there is nothing to claim.
 * Log lines go first, so a job's lines are stored before its end. A completion that fails to
 * commit is retried until it does: the work is done and must not be lost.
 */
export class Completer {
  private pending: Ending[] = [];
  private lines: LogLine[] = [];
  /** Batches being written without a claim alongside. */
  private readonly alone = new Set<Promise<void>>();
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(private readonly d: CompleterDeps) {}

  /** A flush under way: the claim loop lets it land before taking the next batch. */
  get flushInProgress(): Promise<void> | null {
    return this.flushing;
  }

  add(ending: Ending): void {
    this.pending.push(ending);
  }

  /** Ends a buffered job that never ran: cancelled on request, or put back in its queue. */
  endUnstarted(c: ClaimedJob, outcome: "cancelled" | "released"): void {
    const a = newAttempt(c.job, c.token, true);
    this.d.attempts.add(a);
    const finish: Finish =
      outcome === "cancelled"
        ? { id: c.job.id, token: c.token, outcome: "cancelled", error: "cancelled before it started" }
        : { id: c.job.id, token: c.token, outcome: "released" };
    this.pending.push({ finish, attempt: a });
    this.scheduleFlush();
  }

  log(a: Attempt, line: string): void {
    this.lines.push({ jobId: a.job.id, attempt: a.job.attempt, at: Date.now(), line: String(line) });
    this.d.events.emit("log", { job: a.job, line: String(line) });
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Every handler that settles in this turn of the event loop is committed in one transaction.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.d.running()) this.d.wake();
      else void this.flush();
    });
  }

  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    if (this.pending.length === 0 && this.lines.length === 0) return Promise.resolve();
    this.flushing = this.writePending().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    const batch = this.takeBatch();
    await this.flushLogs();
    if (batch.length > 0) await this.finishBatch(batch);
  }

  /** The outcomes waiting, handed to the caller to write. */
  takeBatch(): Ending[] {
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  /**
   * Writes a batch with no claim alongside. Up to two such batches are in flight at once, so the
   * next one gathers while the database works on the last; false: the batch waits for its turn.
   */
  writeAlone(batch: Ending[]): boolean {
    if (this.alone.size >= 2) {
      this.pending.unshift(...batch);
      return false;
    }
    const writing: Promise<void> = this.finishBatch(batch).finally(() => {
      this.alone.delete(writing);
      this.d.wake();
    });
    this.alone.add(writing);
    return true;
  }

  /** Writes a batch and claims in the same transaction; on failure the batch waits for the next try. */
  async finishWithClaim(batch: Ending[], claim: ClaimParams): Promise<ClaimResult> {
    const now = Date.now();
    try {
      const r = await this.d.store.jobFinishAndClaim({ finishes: batch.map((b) => b.finish), claim, now });
      await this.afterFinish(batch, r.outcomes, now);
      return r;
    } catch (err) {
      this.pending.unshift(...batch);
      throw err;
    }
  }

  async flushLogs(): Promise<void> {
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    await this.untilCommitted(() => this.d.store.jobLogAppend({ lines }));
  }

  /** Waits until every attempt has ended and its outcome is written. */
  async drain(): Promise<void> {
    const attempts = this.d.attempts;
    while (attempts.size > 0 || this.pending.length > 0) {
      await Promise.all([...attempts.values()].map((a) => a.done));
      // Outcomes already on their way are awaited too: waiting on settled promises alone would
      // spin without ever letting their I/O finish.
      await Promise.all([...this.alone]);
      await this.flush();
      if (attempts.size > 0 && this.alone.size === 0 && this.pending.length === 0) {
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  /** Puts attempts that are still running back in their queues and lets go of them; their late results find the token gone. */
  async releaseRunning(left: Attempt[]): Promise<void> {
    if (left.length === 0) return;
    await this.untilCommitted(() =>
      this.d.store.jobFinishMany({ finishes: left.map((a) => ({ id: a.job.id, token: a.token, outcome: "released" as const })) }),
    );
    for (const a of left) {
      a.lost = true;
      this.d.attempts.remove(a);
    }
  }

  private async finishBatch(batch: Ending[]): Promise<void> {
    const now = Date.now();
    const outcomes = await this.untilCommitted(() =>
      this.d.store.jobFinishMany({ finishes: batch.map((b) => b.finish), now, returnJobs: false }),
    );
    await this.afterFinish(batch, outcomes, now);
  }

  private async afterFinish(batch: Ending[], outcomes: FinishOutcome[], now: number): Promise<void> {
    const queues = new Set<string>();
    for (const [i, o] of outcomes.entries()) {
      const b = batch[i]!;
      this.d.attempts.remove(b.attempt);
      queues.add(b.attempt.job.queue);
      this.report(b, o, now);
    }
    await Promise.all([...queues].map((q) => this.d.maybeDrained(q)));
  }

  private report({ finish, attempt: a, result }: Ending, o: FinishOutcome, now: number): void {
    const events = this.d.events;
    if (!o.ok) {
      events.emit("warning", { message: `job ${a.job.id}: lease lost before the attempt ended; its outcome was not recorded` });
      return;
    }
    if (o.status === "completed") {
      if (!events.listenerCount("completed")) return;
      const exitCode = "exitCode" in finish && finish.exitCode !== undefined ? finish.exitCode : a.job.exitCode;
      const job = o.job ?? { ...a.job, status: "completed" as const, result: result ?? null, exitCode, finishedAt: now, leaseExpiresAt: null };
      events.emit("completed", { job, result, durationMs: now - a.startedAt });
      return;
    }
    const job = o.job!;
    if (o.status === "cancelled") {
      events.emit("cancelled", { job });
    } else if (o.escalatedTo) {
      events.emit("escalated", { job, error: job.error ?? "", to: o.escalatedTo });
      this.d.store
        .jobGet({ id: o.escalatedTo })
        .then((successor) => successor && events.emit("added", { job: successor }))
        .catch(() => {});
    } else if (o.status === "failed") {
      events.emit("failed", { job, error: job.error ?? "" });
    } else if (finish.outcome === "failed" && o.retryAt !== null) {
      events.emit("retrying", { job, error: finish.error, retryAt: o.retryAt });
    }
  }

  private async untilCommitted<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        const delay = Math.min(10_000, 50 * 2 ** Math.min(i, 8));
        if (i === 0) {
          this.d.events.emit("warning", { message: `cannot write to ${this.d.store.location}: ${(err as Error).message}; retrying until it commits`, error: err });
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
