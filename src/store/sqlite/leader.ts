import { chmodSync, existsSync, statSync, utimesSync } from "node:fs";
import Database from "better-sqlite3";
import type { LeaderLease } from "../store.js";

/** A holder that has not renewed for this long is taken to have stalled (frozen, or stuck in a long synchronous task). */
const STALLED_AFTER_MS = 5000;

/**
 * Maintenance leadership for one SQLite file. The leader holds an exclusive lock on a sidecar
 * file next to the database (`<db>-maintenance`): BEGIN EXCLUSIVE, left open, on a connection of
 * its own, so the database itself is never locked by it. The operating system frees the lock the
 * moment the holder's process dies, and a waiting process takes it on its next try.
 *
 * A process that is frozen (SIGSTOP, a debugger) keeps its lock, so each renew also touches the
 * sidecar's modification time; a process that finds the lock taken and the time older than a
 * few seconds stands in for the stalled holder until it renews again or dies. Running
 * maintenance twice for a while is harmless: reaping is fenced by lease tokens and the store
 * fires each cron tick once.
 *
 * A database in memory belongs to this process alone, which therefore leads.
 */
export function sqliteMaintenanceLeader(location: string, onWarning?: (message: string) => void): LeaderLease {
  if (location === ":memory:") return { renew: async () => true, release: async () => {} };
  return new SidecarLease(`${location}-maintenance`, onWarning ?? ((m) => process.emitWarning(m, "RunwayWarning")));
}

class SidecarLease implements LeaderLease {
  /** Open only while it holds the lock, inside the transaction that holds it. */
  private db: Database.Database | null = null;
  private unusable = false;

  constructor(
    private readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  async renew(): Promise<boolean> {
    if (this.db) {
      this.touch();
      return true;
    }
    try {
      return this.tryLock() || this.holderStalled();
    } catch (err) {
      // Without a usable sidecar no process could lead and nobody would reap: every process
      // then maintains the store, as each one did before leaders were chosen.
      if (!this.unusable) {
        this.warn(`cannot lock ${this.path} to choose one maintenance process (${(err as Error).message}); this process maintains the store alongside any others`);
      }
      this.unusable = true;
      return true;
    }
  }

  async release(): Promise<void> {
    const db = this.db;
    this.db = null;
    // Closing ends the transaction, and with it the lock.
    db?.close();
  }

  /**
   * A fresh connection for each try: one that failed is closed at once, so no waiting process
   * keeps a shared lock that would stop the next one from ever taking the exclusive lock.
   */
  private tryLock(): boolean {
    const fresh = !existsSync(this.path);
    const db = new Database(this.path, { timeout: 0 });
    try {
      if (fresh) chmodSync(this.path, 0o600);
      db.exec("BEGIN EXCLUSIVE");
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === "SQLITE_BUSY") return false;
      throw err;
    }
    this.db = db;
    this.touch();
    return true;
  }

  private holderStalled(): boolean {
    try {
      return Date.now() - statSync(this.path).mtimeMs > STALLED_AFTER_MS;
    } catch {
      return false;
    }
  }

  private touch(): void {
    const now = new Date();
    try {
      utimesSync(this.path, now, now);
    } catch {
      // The lock is what counts; a missed touch at worst lets another process stand in for a while.
    }
  }
}
