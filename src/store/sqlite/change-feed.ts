import type Database from "better-sqlite3";

/**
 * Wake-ups for SQLite. Inside one process, a write calls `notify()` and every store open on the
 * same file hears it at once. Across processes, `PRAGMA data_version` (which changes whenever
 * another connection commits) is read every `pollIntervalMs`; reading it costs microseconds
 * and takes no lock, so idle workers stay cheap and never write.
 */
const localListeners = new Map<string, Set<() => void>>();

export class ChangeFeed {
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private lastVersion = -1;
  private scheduled = false;
  private readonly fire = () => {
    this.scheduled = false;
    for (const l of [...this.listeners]) l();
  };
  private readonly onLocal = () => this.schedule();

  constructor(
    private readonly db: Database.Database,
    private readonly key: string,
    private readonly pollIntervalMs: number,
  ) {}

  subscribe(listener: () => void): () => void {
    if (this.listeners.size === 0) this.start();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Tell every store of this process on the same file that something changed. */
  notify(): void {
    const set = localListeners.get(this.key);
    if (set) for (const l of set) l();
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.fire);
  }

  private start(): void {
    let set = localListeners.get(this.key);
    if (!set) localListeners.set(this.key, (set = new Set()));
    set.add(this.onLocal);
    this.lastVersion = this.readVersion();
    this.timer = setInterval(() => {
      const v = this.readVersion();
      if (v !== this.lastVersion) {
        this.lastVersion = v;
        this.schedule();
      }
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const set = localListeners.get(this.key);
    set?.delete(this.onLocal);
    if (set && set.size === 0) localListeners.delete(this.key);
  }

  private readVersion(): number {
    try {
      return this.db.pragma("data_version", { simple: true }) as number;
    } catch {
      return this.lastVersion;
    }
  }
}
