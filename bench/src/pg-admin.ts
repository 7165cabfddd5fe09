import { performance } from "node:perf_hooks";
import { ensurePeers, loadPeer } from "./peers.js";

// The parts of node-postgres the benchmark uses. It comes from bench/peers, where both PostgreSQL
// peers need it anyway, so a checkout without runway's own pg installed can still run them.
export interface PgClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  connect(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): void;
  end(): Promise<void>;
}
export interface PgPoolClient {
  release(): void;
  on(event: "error", listener: (err: Error) => void): void;
}
export interface PgPool {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  connect(): Promise<PgPoolClient>;
  on(event: "error", listener: (err: Error) => void): void;
  on(event: "connect", listener: (client: PgPoolClient) => void): void;
  end(): Promise<void>;
}
interface Pg {
  Client: new (opts: { connectionString: string }) => PgClient;
  Pool: new (opts: { connectionString: string; max: number }) => PgPool;
}

export function loadPg(): Pg {
  ensurePeers(["pg"]);
  return loadPeer<Pg>("pg");
}

export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/runway_bench";

/** Server settings that decide what a committed job survives. */
export interface PgServerInfo {
  version: string;
  synchronousCommit: string;
  fsync: string;
  walSyncMethod: string;
  walWriterDelay: string;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The benchmark's own database: created when missing, and every peer's schema inside it is
 * dropped and made again per workload. Other databases on the server are never written to.
 */
export class PgAdmin {
  readonly url: string;
  readonly database: string;
  private readonly pg = loadPg();
  private client: PgClient | null = null;

  constructor(url: string) {
    const u = new URL(url);
    this.database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    // The test suite uses "test" concurrently; dropping schemas there would break its runs.
    if (!this.database || this.database === "test" || this.database === "postgres") {
      throw new Error(`BENCH_PG_URL must name a database of the benchmark's own (e.g. runway_bench), not ${JSON.stringify(this.database || "(none)")}`);
    }
    this.url = url;
  }

  async connect(): Promise<void> {
    try {
      this.client = await this.open(this.url);
    } catch (err) {
      if ((err as { code?: string }).code !== "3D000") throw err;
      // 3D000: no such database. Made through the maintenance database, as createdb does.
      const u = new URL(this.url);
      u.pathname = "/postgres";
      const maint = await this.open(u.toString());
      try {
        await maint.query(`CREATE DATABASE ${quoteIdent(this.database)}`);
      } catch (e) {
        // Another run may have created it in the meantime.
        if ((e as { code?: string }).code !== "42P04") throw e;
      } finally {
        await maint.end();
      }
      this.client = await this.open(this.url);
    }
  }

  private async open(url: string): Promise<PgClient> {
    const c = new this.pg.Client({ connectionString: url });
    // A server restart between queries would otherwise end the process with an unhandled
    // "error" event; this way the next query fails and names the workload it was in.
    c.on("error", (err) => process.stderr.write(`PostgreSQL connection lost: ${err.message}\n`));
    await c.connect();
    return c;
  }

  private get db(): PgClient {
    if (!this.client) throw new Error("PgAdmin used before connect()");
    return this.client;
  }

  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }> {
    return this.db.query<R>(text, values);
  }

  async dropSchema(schema: string): Promise<void> {
    await this.db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  }

  /** Read from a session in the benchmark database, so per-database or per-role settings show. */
  async serverInfo(): Promise<PgServerInfo> {
    const show = async (name: string) => String(Object.values((await this.db.query(`SHOW ${name}`)).rows[0] ?? {})[0] ?? "unknown");
    return {
      version: await show("server_version"),
      synchronousCommit: await show("synchronous_commit"),
      fsync: await show("fsync"),
      walSyncMethod: await show("wal_sync_method"),
      walWriterDelay: await show("wal_writer_delay"),
    };
  }

  /** Polls until `sql` returns true, and returns the time it first did. */
  async until(sql: string, values: unknown[], timeoutMs: number, what: () => string): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.db.query<{ ok: boolean }>(sql, values);
      const now = performance.now();
      if (rows[0]?.ok) return now;
      if (now > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what()}`);
    }
  }

  async close(): Promise<void> {
    await this.client?.end();
    this.client = null;
  }
}

/** The URL of `schema` in the benchmark database, in the form runway's PostgreSQL store reads. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("schema", schema);
  return u.toString();
}
