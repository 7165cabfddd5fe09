import type { AbortKind } from "../../core/handler.js";
import type { ClaimedJob, Lease, LeaseStatus, Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";
import type { Attempt, Attempts } from "./attempt.js";
import type { Prefetched } from "./prefetched.js";

export interface LeasesDeps {
  store: Store;
  events: TypedEmitter;
  attempts: Attempts;
  buffer: Prefetched;
  leaseMs: number;
  heartbeatMs: number;
  abort(a: Attempt, kind: AbortKind): void;
  endUnstarted(c: ClaimedJob, outcome: "cancelled" | "released"): void;
}

/** Lease checks follow store changes at most this often: a burst of commits costs one read. */
const CHECK_GAP_MS = 50;

/**
 * The leases this worker holds, for running attempts and buffered jobs alike: extended by a
 * heartbeat, and checked when the store changes, so a cancel or a stopped queue reaches the
 * attempt in milliseconds and a lease taken away stops it.
 */
export class Leases {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastCheck = 0;
  private checkTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: LeasesDeps) {}

  start(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.d.heartbeatMs);
  }

  stop(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.heartbeatTimer = null;
    this.checkTimer = null;
  }

  /** Something changed in the store: maybe a cancel or a stop for one of ours. */
  changed(): void {
    if (this.d.attempts.size === 0 && this.d.buffer.length === 0) return;
    // Never a change left unchecked: a check that is too soon is put off to the end of the gap instead of dropped.
    const wait = CHECK_GAP_MS - (Date.now() - this.lastCheck);
    if (wait <= 0) void this.check();
    else if (!this.checkTimer) {
      this.checkTimer = setTimeout(() => {
        this.checkTimer = null;
        void this.check();
      }, wait);
    }
  }

  private held(): Lease[] {
    const running: Lease[] = [];
    for (const a of this.d.attempts.values()) if (!a.lost && !a.finishing) running.push({ id: a.job.id, token: a.token });
    return [...running, ...this.d.buffer.leases()];
  }

  private async check(): Promise<void> {
    this.lastCheck = Date.now();
    try {
      this.apply(await this.d.store.jobLeaseCheck({ leases: this.held() }));
    } catch {
      // The next heartbeat reports persistent trouble.
    }
  }

  private async heartbeat(): Promise<void> {
    const leases = this.held();
    if (leases.length === 0) return;
    try {
      this.apply(await this.d.store.jobHeartbeat({ leases, leaseMs: this.d.leaseMs }));
    } catch (err) {
      this.d.events.emit("warning", { message: `heartbeat failed: ${(err as Error).message}`, error: err });
    }
  }

  private apply(statuses: LeaseStatus[]): void {
    for (const s of statuses) {
      const buffered = this.d.buffer.find(s.id);
      if (buffered) {
        // Not started yet: a lost one is simply dropped, a cancelled or stopped one ends without running.
        if (s.ok && !s.abort) continue;
        this.d.buffer.remove(buffered);
        if (s.ok) this.d.endUnstarted(buffered, s.abort === "cancel" ? "cancelled" : "released");
        continue;
      }
      const a = this.d.attempts.get(s.id);
      if (!a || a.finishing) continue;
      if (!s.ok) {
        a.lost = true;
        this.d.abort(a, "lease-lost");
        this.d.events.emit("warning", { message: `job ${s.id}: lease lost (another worker may run it); stopping this attempt` });
      } else if (s.abort) {
        this.d.abort(a, s.abort);
      }
    }
  }
}
