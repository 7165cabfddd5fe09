import type pg from "pg";
import { loadPg } from "./connection.js";

/**
 * Wake-ups for PostgreSQL: one connection per store LISTENs on the schema's channel, and every
 * write that matters to a worker NOTIFYs it inside its own transaction (so the signal arrives
 * only when the change is visible). The connection reconnects by itself with backoff; while it
 * is down, listeners are called every `pollIntervalMs` instead, so nothing waits forever.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private listeners = new Set<() => void>();
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private scheduled = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly pollIntervalMs: number,
    private readonly warn: (message: string) => void,
  ) {}

  subscribe(listener: () => void): () => void {
    const first = this.listeners.size === 0 && !this.closed;
    this.listeners.add(listener);
    if (first) {
      this.startPolling();
      void this.connect();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  get connected(): boolean {
    return this.client !== null && this.pollTimer === null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.stop();
  }

  private fire = () => {
    this.scheduled = false;
    for (const l of [...this.listeners]) l();
  };

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.fire);
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.schedule(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private async connect(): Promise<void> {
    if (this.closed || this.listeners.size === 0 || this.client) return;
    const client = new (loadPg().Client)(this.config);
    client.on("notification", () => this.schedule());
    client.on("error", () => this.lost(client, "the listening connection failed"));
    client.on("end", () => this.lost(client, "the listening connection closed"));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      if (this.closed || this.listeners.size === 0) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      if (this.failures > 0) this.warn("LISTEN connection restored; wake-ups are immediate again");
      this.failures = 0;
      this.stopPolling();
      // Anything missed while it was down is picked up by one look now.
      this.schedule();
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      this.retry(`cannot LISTEN: ${(err as Error).message}`);
    }
  }

  private lost(client: pg.Client, why: string): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners();
    client.on("error", () => {});
    if (this.closed || this.listeners.size === 0) return;
    this.retry(why);
  }

  private retry(why: string): void {
    this.startPolling();
    this.failures++;
    const delay = Math.min(10_000, 100 * 2 ** Math.min(this.failures, 7));
    if (this.failures === 1) this.warn(`${why}; polling every ${this.pollIntervalMs} ms and reconnecting`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private async stop(): Promise<void> {
    this.stopPolling();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on("error", () => {});
      await c.end().catch(() => {});
    }
  }
}
