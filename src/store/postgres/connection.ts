import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { StoreUnavailableError, ValidationError } from "../../core/errors.js";
import { MIGRATIONS_TABLE, type Migration, loadMigrations, pendingMigrations } from "../migrations.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export interface PgLocation {
  /** The URL without its password, for messages. */
  display: string;
  config: pg.PoolConfig;
  schema: string;
}

let driver: typeof pg | null = null;

/**
 * The pg driver, loaded the first time a PostgreSQL store is opened: a command run on SQLite
 * (say `runway add` in a shell loop) does not pay for loading it.
 */
export function loadPg(): typeof pg {
  driver ??= createRequire(import.meta.url)("pg") as typeof pg;
  return driver;
}

// int8 columns (times, tokens) come back as numbers: every value runway stores fits in 2^53.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20 ? (v: string) => Number(v) : loadPg().types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Reads a postgres:// URL; `?schema=` names the schema (default runway). */
export function parsePgUrl(url: string, schemaOverride?: string): PgLocation {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError("db", `not a valid PostgreSQL URL: ${url}; use postgres://user:password@host:5432/database`);
  }
  const schema = schemaOverride ?? u.searchParams.get("schema") ?? "runway";
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new ValidationError("schema", `${JSON.stringify(schema)} is not a usable schema name; use letters, digits and _`);
  }
  u.searchParams.delete("schema");
  const display = new URL(u.toString());
  if (display.password) display.password = "****";
  return { display: display.toString(), config: { connectionString: u.toString(), types }, schema };
}

/** One line that says what went wrong with the server and what to do about it. */
export function explainPgError(err: unknown, where: PgLocation): StoreUnavailableError {
  const e = err as { code?: string; message?: string; address?: string; port?: number };
  const url = where.display;
  switch (e.code) {
    case "ECONNREFUSED":
      return new StoreUnavailableError(`cannot reach PostgreSQL at ${url}: connection refused; is the server running and listening there?`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new StoreUnavailableError(`cannot reach PostgreSQL at ${url}: unknown host; check the host name in the URL`);
    case "ETIMEDOUT":
      return new StoreUnavailableError(`cannot reach PostgreSQL at ${url}: the connection timed out; check the host, port and firewall`);
    case "28P01":
    case "28000":
      return new StoreUnavailableError(`PostgreSQL at ${url} refused the login: ${e.message}; check the user and password in the URL`);
    case "3D000":
      return new StoreUnavailableError(`${e.message} at ${url}; create it (createdb) or point the URL at an existing database`);
    case "42501":
      return new StoreUnavailableError(
        `PostgreSQL denied access to schema "${where.schema}" at ${url}: ${e.message}; use a schema this user owns (?schema=name) or ask its owner for rights`,
      );
    case "57P01":
    case "57P02":
    case "57P03":
      return new StoreUnavailableError(`PostgreSQL at ${url} is shutting down or starting up (${e.message}); retrying may succeed`);
    default:
      return new StoreUnavailableError(`PostgreSQL at ${url}: ${e.message ?? String(err)}`);
  }
}

/** Errors after which a retry may succeed: the connection or the server went away. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  const message = (err as { message?: string }).message ?? "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004", "40001", "40P01"].includes(code) ||
    /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message)
  );
}

export function loadSchemaMigrations(schemaSql: string): Migration[] {
  return loadMigrations(MIGRATIONS_DIR, (sql) => sql.replaceAll(":SCHEMA", schemaSql));
}

/**
 * Applies the missing migrations in one transaction under an advisory lock named after the
 * schema, so when many workers start at once exactly one migrates and the rest wait and see it done.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const s = `"${schema}"`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`runway:migrate:${schema}`]);
    // Created only when missing: a user may be allowed to use a schema without being allowed to create one.
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.${MIGRATIONS_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
    );
    const applied = (await client.query<{ version: number }>(`SELECT version FROM ${s}.${MIGRATIONS_TABLE}`)).rows.map((r) => r.version);
    for (const m of pendingMigrations(loadSchemaMigrations(s), applied, `the schema "${schema}"`)) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${s}.${MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export { types as pgTypes };
