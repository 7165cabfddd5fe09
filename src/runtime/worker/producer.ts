import type { ClaimedJob, ClaimParams, Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";
import type { Attempts } from "./attempt.js";
import type { Completer } from "./completer.js";
import { Prefetched } from "./prefetched.js";

export interface ProducerOptions {
  workerId: string;
  concurrency: number;
  prefetch: number;
  leaseMs: number;
  queues: string[] | null;
  kinds: string[];
  target: string | null;
  /** Asked before each claim: false holds claiming; the next look, within a second, asks again. */
  gate?: () => boolean;
}

export interface ProducerDeps {
  store: Store;
  events: TypedEmitter;
  attempts: Attempts;
  completer: Completer;
  running(): boolean;
  /** Starts a claimed job in a free slot. */
  start(c: ClaimedJob): void;
}

/** A missed wake-up costs at most this long. */
const SAFETY_NET_MS = 1000;

/**
 * Claims jobs into free slots and the local buffer, and starts them. One loop at a time: a
 * wake-up while it runs makes it go round once more. It wakes when the store changes, when a
 * slot frees, when the next scheduled job falls due and, as a safety net, every second; when the
 * store cannot be reached it backs off.
 */
export class Producer {
  readonly buffer = new Prefetched();
  private looping = false;
  private again = false;
  /** The loop running now, if any: shutdown waits for its claim to land before releasing the buffer. */
  private looped: Promise<void> = Promise.resolve();
  private failures = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private safetyNet: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: ProducerOptions,
    private readonly d: ProducerDeps,
  ) {}

  start(): void {
    this.safetyNet = setInterval(() => this.kick(), SAFETY_NET_MS);
    this.kick();
  }

  /** Stops waking up; resolves once a claim in flight has landed, its jobs in the buffer. */
  halt(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.safetyNet) clearInterval(this.safetyNet);
    this.safetyNet = null;
    return this.looped;
  }

  kick(): void {
    if (!this.d.running()) return;
    if (this.looping) {
      this.again = true;
      return;
    }
    this.looped = this.loop();
  }

  /** Starts buffered jobs while slots are free. */
  fill(): void {
    while (this.buffer.length > 0 && this.d.running() && this.d.attempts.busy < this.o.concurrency) {
      this.d.start(this.buffer.next()!);
    }
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      do {
        this.again = false;
        if (!this.d.running()) {
          await this.d.completer.flush();
          break;
        }
        if (!(await this.cycle())) break;
      } while (this.again && this.d.running());
    } catch (err) {
      this.backOff(err);
    } finally {
      this.looping = false;
    }
  }

  /** One turn: write the outcomes waiting, claim into the room there is, start what came. false: nothing more to do now. */
  private async cycle(): Promise<boolean> {
    const completer = this.d.completer;
    const flushing = completer.flushInProgress;
    if (flushing) await flushing;
    // Finished attempts free their slots in the same transaction that fills them again.
    const batch = completer.takeBatch();
    // Taken after the batch: every line its handlers logged is written before their outcome.
    await completer.flushLogs();
    const { limit, extra } = this.room();
    if (limit + extra <= 0 && batch.length === 0) return false;
    const open = !this.o.gate || this.o.gate();
    if (!open && batch.length === 0) return false;
    const claim = this.claimParams(open ? limit : 0, open ? extra : 0);
    // Nothing to claim: only outcomes to write.
    if (claim.limit + (claim.prefetch ?? 0) <= 0) return completer.writeAlone(batch);
    const { jobs, nextRunAt } = batch.length > 0 ? await completer.finishWithClaim(batch, claim) : await this.d.store.jobClaim(claim);
    this.reachable();
    this.buffer.push(jobs);
    this.fill();
    if (jobs.length > 0 && jobs.length === limit + extra) this.again = true;
    if (jobs.length === 0 && nextRunAt !== null) this.wakeAt(nextRunAt);
    return true;
  }

  /**
   * Slots free now (finishing attempts count as free), less what the buffer already holds; and
   * what prefetch may add, only once the buffer has run half empty.
   */
  private room(): { limit: number; extra: number } {
    const slots = this.o.concurrency - this.d.attempts.busy;
    const limit = Math.max(0, slots - this.buffer.length);
    const room = this.o.prefetch - Math.max(0, this.buffer.length - slots);
    const extra = this.o.prefetch > 0 && room >= this.o.prefetch / 2 ? room : 0;
    return { limit, extra };
  }

  private claimParams(limit: number, prefetch: number): ClaimParams {
    return {
      workerId: this.o.workerId,
      limit,
      prefetch,
      leaseMs: this.o.leaseMs,
      queues: this.o.queues,
      kinds: this.o.kinds,
      target: this.o.target,
    };
  }

  private wakeAt(at: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 1);
    this.wakeTimer.unref();
  }

  private reachable(): void {
    if (this.failures === 0) return;
    this.d.events.emit("warning", { message: `${this.d.store.location} is reachable again; carrying on` });
    this.failures = 0;
  }

  private backOff(err: unknown): void {
    this.failures++;
    const delay = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 9));
    // One line when the trouble starts, not one per retry.
    if (this.failures === 1) {
      this.d.events.emit("warning", { message: `cannot reach ${this.d.store.location}: ${(err as Error).message}; retrying with backoff`, error: err });
    }
    setTimeout(() => this.kick(), delay).unref();
  }
}
