import pg from "pg";

/** The PostgreSQL server the tests use: RUNWAY_TEST_PG_URL, else the local one on 127.0.0.1:5432. */
export const PG_URL = process.env.RUNWAY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let checked: Promise<void> | null = null;

/** Fails with what to do when the server is not there, instead of a wall of connection errors. */
export function requirePostgres(): Promise<void> {
  checked ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
    try {
      await c.connect();
      await c.query("SELECT 1");
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}). Start it with ` +
          "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set RUNWAY_TEST_PG_URL.",
      );
    } finally {
      await c.end().catch(() => {});
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
