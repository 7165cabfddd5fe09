import { StoreUnavailableError } from "../../core/errors.js";
import type { LeaderLease } from "../../store/store.js";

export interface LeadershipDeps {
  /** How long to wait between renewals. */
  paceMs(): number;
  /** This process has started or stopped leading. */
  changed(leading: boolean): void;
  warn(message: string, error: unknown): void;
}

/**
 * Renews the store's leader lease on a steady pace: the leader's renewals show it is alive, and
 * a waiting process's take the lead as soon as it is free. Reports each change of role.
 */
export class Leadership {
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private leading = false;
  private halted = false;
  private failing = false;

  constructor(
    private readonly lease: LeaderLease,
    private readonly d: LeadershipDeps,
  ) {}

  start(): void {
    this.renewing = this.renew();
  }

  /** No more renewals; resolves once the one under way has landed. What is held stays held until release(). */
  async halt(): Promise<void> {
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    await this.renewing;
  }

  release(): Promise<void> {
    return this.lease.release();
  }

  private async renew(): Promise<void> {
    let held = false;
    try {
      held = await this.lease.renew();
      this.failing = false;
    } catch (err) {
      // A store that cannot be reached is already reported by the claim loop; until it is back, nobody here leads.
      if (!this.failing && !(err instanceof StoreUnavailableError)) this.d.warn(`maintenance lead: ${(err as Error).message}`, err);
      this.failing = true;
    }
    if (this.halted) return;
    if (held !== this.leading) {
      this.leading = held;
      this.d.changed(held);
    }
    this.timer = setTimeout(() => (this.renewing = this.renew()), this.d.paceMs());
  }
}
