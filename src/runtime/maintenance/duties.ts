import { StoreUnavailableError } from "../../core/errors.js";
import type { Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";

export interface DutiesDeps {
  store: Store;
  events: TypedEmitter;
  markActive(queue: string): void;
  /** Jobs became ready (recovered or fired): the claim loops should look now. */
  wake(): void;
  reaperIntervalMs(): number;
  /** Finished jobs older than this are deleted; null keeps them. */
  retentionMs: number | null;
}

/** Deleting old jobs is no hurry: once a minute keeps the tables trim without competing with the work. */
const PRUNE_EVERY_MS = 60_000;

/**
 * What the maintenance leader does while it leads: returns the jobs of dead workers (expired
 * leases) and tidies the tables on the reaper's pace, fires cron ticks on whole seconds and,
 * when a retention is set, deletes old finished jobs. Trouble is reported, never fatal.
 */
export class Duties {
  private on = true;
  private reaping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Tasks whose trouble was reported already: one line when it starts, not one per try. */
  private readonly failing = new Set<"upkeep" | "cron" | "prune">();

  constructor(private readonly d: DutiesDeps) {}

  start(): this {
    this.reap();
    this.fireCron();
    if (this.d.retentionMs !== null) this.prune();
    return this;
  }

  /** No more tasks; resolves once those under way are done, so the store does not close under them. */
  async stop(): Promise<void> {
    this.on = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.inFlight]);
  }

  private later(task: () => void, ms: number): void {
    if (!this.on) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      task();
    }, ms);
    this.timers.add(t);
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    const done = () => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private reap(): void {
    this.later(() => this.reap(), this.d.reaperIntervalMs());
    // A reap slower than the interval is not doubled up: the next one waits for its turn.
    if (this.reaping) return;
    this.reaping = true;
    void this.track(this.reapOnce()).finally(() => (this.reaping = false));
  }

  private async reapOnce(): Promise<void> {
    // Table upkeep rides on the reaper's timer.
    void this.track(
      this.d.store.storeMaintain({}).then(
        () => void this.failing.delete("upkeep"),
        (err: Error) => this.trouble("upkeep", `table upkeep: ${err.message}`, err),
      ),
    );
    try {
      const r = await this.d.store.jobReapExpired({});
      if (r.requeued.length + r.failed.length + r.cancelled.length > 0) {
        this.d.events.emit("warning", {
          message: `recovered jobs of dead workers: ${r.requeued.length} requeued, ${r.failed.length} failed, ${r.cancelled.length} cancelled`,
        });
        this.d.wake();
      }
    } catch (err) {
      this.d.events.emit("warning", { message: `reaper: ${(err as Error).message}`, error: err });
    }
  }

  private fireCron(): void {
    // Ticks fall on whole seconds: looking just after each second turns fires a tick within
    // milliseconds of its time instead of up to a second late.
    void this.track(this.fireDueTicks()).then(() => this.later(() => this.fireCron(), 1005 - (Date.now() % 1000)));
  }

  private async fireDueTicks(): Promise<void> {
    try {
      const jobs = await this.d.store.cronFire({});
      this.failing.delete("cron");
      for (const job of jobs) {
        this.d.markActive(job.queue);
        this.d.events.emit("added", { job });
      }
      // The claim loops may be asleep until a scheduled job falls due; these jobs are ready now.
      if (jobs.length > 0) this.d.wake();
    } catch (err) {
      // A store that cannot be reached is already reported by the claim loop.
      if (!(err instanceof StoreUnavailableError)) this.trouble("cron", `cron: ${(err as Error).message}`, err);
      this.failing.add("cron");
    }
  }

  private prune(): void {
    void this.track(this.pruneOld()).then(() => this.later(() => this.prune(), PRUNE_EVERY_MS));
  }

  private async pruneOld(): Promise<void> {
    try {
      await this.d.store.jobPrune({ olderThanMs: this.d.retentionMs! });
      this.failing.delete("prune");
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) this.trouble("prune", `retention: cannot delete old jobs: ${(err as Error).message}`, err);
      this.failing.add("prune");
    }
  }

  private trouble(task: "upkeep" | "cron" | "prune", message: string, error: unknown): void {
    if (!this.failing.has(task)) this.d.events.emit("warning", { message, error });
    this.failing.add(task);
  }
}
