import { homedir } from "node:os";
import { join } from "node:path";
import { PostgresStore } from "./postgres/store.js";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite/store.js";
import type { Store } from "./store.js";

export interface OpenStoreOptions extends Omit<SqliteStoreOptions, "path"> {
  /** PostgreSQL: the schema for runway's tables (default runway, or ?schema= in the URL). */
  schema?: string;
  /** PostgreSQL: connections in this process's pool. */
  poolSize?: number;
  onWarning?: (message: string) => void;
}

/** RUNWAY_HOME holds the default database and, later, logs; default ~/.runway. */
export function runwayHome(env = process.env): string {
  return env.RUNWAY_HOME || join(homedir(), ".runway");
}

/**
 * Which database to use: the given location, else RUNWAY_DB, else DATABASE_URL when it is a
 * PostgreSQL URL, else runway.db under RUNWAY_HOME.
 */
export function resolveDbLocation(db?: string, env = process.env): string {
  if (db) return db;
  if (env.RUNWAY_DB) return env.RUNWAY_DB;
  if (env.DATABASE_URL && /^postgres(ql)?:\/\//.test(env.DATABASE_URL)) return env.DATABASE_URL;
  return join(runwayHome(env), "runway.db");
}

/** The URL picks the store: postgres:// for PostgreSQL, anything else is a SQLite file path. */
export function openStore(db?: string, opts: OpenStoreOptions = {}): Store {
  const location = resolveDbLocation(db);
  if (/^postgres(ql)?:\/\//.test(location)) {
    return new PostgresStore({
      url: location,
      ...(opts.schema ? { schema: opts.schema } : {}),
      ...(opts.poolSize ? { poolSize: opts.poolSize } : {}),
      ...(opts.pollIntervalMs ? { pollIntervalMs: opts.pollIntervalMs } : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    });
  }
  const path = location.replace(/^sqlite:(\/\/)?/, "").replace(/^file:(\/\/)?/, "");
  const { schema: _schema, poolSize: _pool, onWarning: _warn, ...sqlite } = opts;
  return new SqliteStore({ ...sqlite, path });
}
