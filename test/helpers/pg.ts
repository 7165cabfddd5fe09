import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import pg from "pg";

/** The PostgreSQL server the tests use: RUNWAY_TEST_PG_URL, else the local one on 127.0.0.1:5432. */
export const PG_URL = process.env.RUNWAY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let checked: Promise<void> | null = null;

async function reachable(): Promise<Error | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Makes sure the server is there: starts the local cluster if it is installed but stopped, and
 * otherwise fails with what to do, instead of a wall of connection errors.
 */
export function requirePostgres(): Promise<void> {
  checked ??= (async () => {
    let err = await reachable();
    if (err && !process.env.RUNWAY_TEST_PG_URL && existsSync("/etc/postgresql")) {
      try {
        const version = readdirSync("/etc/postgresql")[0];
        if (version) execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], { stdio: "ignore" });
        for (let i = 0; i < 50 && err; i++) {
          await new Promise((r) => setTimeout(r, 200));
          err = await reachable();
        }
      } catch {
        // Not ours to start: the message below says how.
      }
    }
    if (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_URL} (${err.message}). Start it with ` +
          "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set RUNWAY_TEST_PG_URL.",
      );
    }
  })();
  return checked;
}

/** A fresh schema name per test, so test files never see each other's rows. */
export function freshSchema(prefix = "t"): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
