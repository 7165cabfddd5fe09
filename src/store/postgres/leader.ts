import type pg from "pg";
import type { LeaderLease } from "../store.js";
import { type PgLocation, explainPgError, loadPg } from "./connection.js";

/**
 * The server ends the holder's session after this long without a query, which frees its lock;
 * renewing about once a second keeps a live holder well inside it.
 */
const STALLED_AFTER_MS = 5000;

/**
 * Maintenance leadership on PostgreSQL: a session-level advisory lock named after the schema,
 * held on a connection of its own. When the holder's process dies its connection closes and the
 * server frees the lock; a waiting process takes it on its next try.
 *
 * A holder that is frozen or cut off from the server would keep its session, and the lock, for
 * as long as TCP lets it. So its session is told to end itself when idle for a few seconds
 * (idle_session_timeout, PostgreSQL 14 and later), and each renew runs a query on it: a live
 * holder is never idle that long, a silent one loses the lock and another process leads.
 */
export function postgresMaintenanceLeader(where: PgLocation, warn: (message: string) => void): LeaderLease {
  return new AdvisoryLease(where, warn);
}

class AdvisoryLease implements LeaderLease {
  private client: pg.Client | null = null;
  private held = false;
  private warnedOldServer = false;
  private readonly key: string;

  constructor(
    private readonly where: PgLocation,
    private readonly warn: (message: string) => void,
  ) {
    this.key = `runway:maintenance:${where.schema}`;
  }

  async renew(): Promise<boolean> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.held) {
        // A session lock lasts as long as its session: an answer means it is still ours.
        await client.query("SELECT 1");
        return true;
      }
      const r = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [this.key]);
      this.held = r.rows[0]?.ok === true;
      return this.held;
    } catch (err) {
      this.drop();
      throw explainPgError(err, this.where);
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held = false;
    // Ending the session frees the lock.
    if (client) await client.end().catch(() => {});
  }

  private async connect(): Promise<pg.Client> {
    const client = new (loadPg().Client)({ ...this.where.config, connectionTimeoutMillis: STALLED_AFTER_MS, query_timeout: STALLED_AFTER_MS });
    // The server ending the session (idle, terminated, restarted) must not crash the process: the next renew finds out.
    client.on("error", () => {
      if (this.client === client) this.drop();
    });
    try {
      await client.connect();
      await this.limitIdleSession(client);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private async limitIdleSession(client: pg.Client): Promise<void> {
    try {
      await client.query(`SET idle_session_timeout = ${STALLED_AFTER_MS}`);
    } catch (err) {
      // 42704: a server before 14, which does not know the setting.
      if ((err as { code?: string }).code !== "42704") throw err;
      if (!this.warnedOldServer) {
        this.warn("this PostgreSQL server cannot end a stalled session (idle_session_timeout needs 14 or later): a frozen maintenance leader is replaced only once it dies");
      }
      this.warnedOldServer = true;
    }
  }

  /** Forgets a connection that failed; its session, and the lock with it, ends on the server. */
  private drop(): void {
    const client = this.client;
    this.client = null;
    this.held = false;
    if (!client) return;
    client.removeAllListeners("error");
    client.on("error", () => {});
    void client.end().catch(() => {});
  }
}
