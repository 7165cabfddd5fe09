/**
 * What every concern of the SQLite store shares: the one connection, its statement cache, the
 * write transaction, the change feed and the handful of row reads every verb needs.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type Database from "better-sqlite3";
import { NotFoundError } from "../../core/errors.js";
import type { EscalationRule } from "../../core/job.js";
import { type JobRow, type QueueRow, type RuleRow, toRule } from "../rows.js";
import { ChangeFeed } from "./change-feed.js";
import { startCheckpointer } from "./checkpointer.js";
import { type Durability, migrate, openConnection } from "./connection.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (one process only). */
  path: string;
  /** "normal" (default): survives any process crash. "full": also survives power loss, slower. */
  durability?: Durability;
  /** How often idle processes look for changes made by other processes. Default 50 ms. */
  pollIntervalMs?: number;
  busyTimeoutMs?: number;
}

export class SqliteContext {
  readonly location: string;
  readonly db: Database.Database;
  readonly feed: ChangeFeed;
  private readonly statements = new Map<string, Database.Statement>();
  /** Claim state: where the next claim starts among unlimited queues, and the limited queue served last. */
  roundRobin = 0;
  lastLimited = "";
  private stopCheckpointer: () => Promise<void> = async () => {};
  private readonly checkpointKey: string | null;
  private checkpointing = false;
  // Made once: better-sqlite3 builds a new wrapper each time transaction() is called.
  private readonly runInTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Queues known to exist; queues are never deleted, so this only saves a statement per add. */
  private readonly knownQueues = new Set<string>();
  private queuesInTransaction: string[] = [];

  constructor(opts: SqliteStoreOptions) {
    this.location = opts.path === ":memory:" ? ":memory:" : resolve(opts.path);
    this.db = openConnection(this.location, { durability: opts.durability ?? "normal", busyTimeoutMs: opts.busyTimeoutMs ?? 10_000 });
    migrate(this.db);
    this.runInTransaction = this.db.transaction((fn: () => unknown) => fn());
    const key = this.location === ":memory:" ? `:memory:${Math.random()}` : realpathSync(this.location);
    this.feed = new ChangeFeed(this.db, key, opts.pollIntervalMs ?? 50);
    this.checkpointKey = this.location === ":memory:" ? null : key;
  }

  /**
   * A long-lived process (one that watches for work) checkpoints from a thread of its own; a
   * one-shot command does not start one and leaves checkpoints to SQLite, which also runs one
   * when the last connection closes.
   */
  startCheckpoints(): void {
    if (this.checkpointKey === null || this.checkpointing) return;
    this.checkpointing = true;
    this.db.pragma("wal_autocheckpoint = 10000");
    this.stopCheckpointer = startCheckpointer(this.checkpointKey);
  }

  async close(): Promise<void> {
    this.feed.close();
    this.db.close();
    await this.stopCheckpointer();
  }

  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** BEGIN IMMEDIATE: take the write lock up front, so a transaction never fails half-way on a lock upgrade. */
  write<T>(fn: () => T, notify = true): T {
    this.queuesInTransaction = [];
    const result = this.runInTransaction.immediate(fn) as T;
    for (const q of this.queuesInTransaction) this.knownQueues.add(q);
    if (notify) this.feed.notify();
    return result;
  }

  row(id: string): JobRow | undefined {
    return this.stmt("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
  }

  mustRow(id: string): JobRow {
    const r = this.row(id);
    if (!r) throw new NotFoundError("job", id);
    return r;
  }

  mustQueue(name: string): QueueRow {
    const q = this.stmt("SELECT * FROM queues WHERE name = ?").get(name) as QueueRow | undefined;
    if (!q) throw new NotFoundError("queue", name);
    return q;
  }

  /** A queue comes into being with its first job; when it exists this writes nothing. */
  ensureQueue(queue: string, now: number): void {
    if (this.knownQueues.has(queue)) return;
    this.stmt("INSERT INTO queues (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(queue, now);
    // Remembered only once the transaction commits: a rolled-back add must not leave it "known".
    this.queuesInTransaction.push(queue);
  }

  targetExists(name: string): boolean {
    return this.stmt("SELECT 1 FROM targets WHERE name = ?").get(name) !== undefined;
  }

  rules(): EscalationRule[] {
    return (this.stmt("SELECT * FROM escalation_rules").all() as RuleRow[]).map(toRule);
  }
}
