import type { Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";
import { Duties } from "./duties.js";
import { Leadership } from "./leadership.js";

export interface MaintenanceOptions {
  /** Finished jobs are deleted this long (ms) after they finished; null or absent keeps them. */
  retentionMs?: number | null;
}

/** A worker taking part in maintenance. */
export interface MaintenanceMember {
  /** How often it asked for the reaper to run; the shortest asked for wins. */
  reaperIntervalMs: number;
  /** Jobs became ready: its claim loop should look now. */
  wake(): void;
}

/** A process waiting for the lead asks at least this often, so a dead leader is replaced within about a second. */
const MAX_RENEW_MS = 1000;
const DEFAULT_REAPER_MS = 5000;

/**
 * Store-wide upkeep, done once per store rather than by every worker: the reaper, cron ticks,
 * table upkeep and retention. The workers of a runway that keep house join its one Maintenance;
 * while any is running it bids for the store's leader lease, and only the process holding it
 * does the work. The others wait, asking again every second or so, and take over when the
 * leader dies or stalls.
 */
export class Maintenance {
  private readonly members = new Set<MaintenanceMember>();
  private leadership: Leadership | null = null;
  private duties: Duties | null = null;
  /** Duties of a lead that was lost, finishing what they had under way. */
  private retiring: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly events: TypedEmitter,
    private readonly markActive: (queue: string) => void,
    private readonly opts: MaintenanceOptions = {},
  ) {}

  /** Whether this process leads (and does the work) now. */
  get leading(): boolean {
    return this.duties !== null;
  }

  /** The first member starts the bid for the lead. Returns what takes the member out again. */
  join(member: MaintenanceMember): () => Promise<void> {
    this.members.add(member);
    if (!this.leadership) this.bid();
    return () => this.leave(member);
  }

  /** The last member to leave stops the work and gives up the lead; resolves when all is let go. */
  private async leave(member: MaintenanceMember): Promise<void> {
    if (!this.members.delete(member) || this.members.size > 0 || !this.leadership) return;
    const leadership = this.leadership;
    // From here on its reports are ignored, and a member joining meanwhile starts a bid of its own.
    this.leadership = null;
    this.retire();
    await leadership.halt();
    await this.retiring;
    await leadership.release();
  }

  private bid(): void {
    const lease = this.store.maintenanceLeader({ onWarning: (message) => this.events.emit("warning", { message }) });
    const leadership: Leadership = new Leadership(lease, {
      paceMs: () => Math.min(MAX_RENEW_MS, this.reaperIntervalMs()),
      changed: (leading) => {
        if (this.leadership !== leadership) return;
        if (leading) this.lead();
        else this.retire();
      },
      warn: (message, error) => this.events.emit("warning", { message, error }),
    });
    this.leadership = leadership;
    leadership.start();
  }

  private lead(): void {
    if (this.duties) return;
    this.duties = new Duties({
      store: this.store,
      events: this.events,
      markActive: this.markActive,
      wake: () => {
        for (const m of this.members) m.wake();
      },
      reaperIntervalMs: () => this.reaperIntervalMs(),
      retentionMs: this.opts.retentionMs ?? null,
    }).start();
  }

  private retire(): void {
    const duties = this.duties;
    if (!duties) return;
    this.duties = null;
    const before = this.retiring;
    this.retiring = Promise.all([before, duties.stop()]).then(() => {});
  }

  private reaperIntervalMs(): number {
    let ms = Infinity;
    for (const m of this.members) ms = Math.min(ms, m.reaperIntervalMs);
    return Number.isFinite(ms) ? ms : DEFAULT_REAPER_MS;
  }
}
