/**
 * PostgreSQL going away under running workers: every connection killed, then the server itself
 * restarted. Workers must carry on by themselves and every job must end completed exactly once.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { addJobs, assertBuilt, children, exited, killChildren, readLog, runCounts, startWorker, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
const schemas: string[] = [];
const APP = "runway_fault_worker";

beforeAll(async () => {
  assertBuilt();
  await requirePostgres();
});
afterEach(killChildren);
afterAll(async () => {
  await requirePostgres();
  for (const s of schemas) await dropSchema(s);
  tmp.cleanup();
});

/** Runs SQL on a connection of its own; null while the server is down. */
async function admin<T = any>(sql: string): Promise<T[] | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return (await c.query(sql)).rows as T[];
  } catch {
    return null;
  } finally {
    await c.end().catch(() => {});
  }
}

async function counts(schema: string): Promise<{ completed: number; running: number; total: number } | null> {
  const r = await admin<{ completed: number; running: number; total: number }>(
    `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*) FILTER (WHERE status = 'running')::int AS running,
            count(*)::int AS total FROM "${schema}".jobs`,
  );
  return r?.[0] ?? null;
}

function cluster(action: "restart"): void {
  const version = readdirSync("/etc/postgresql")[0]!;
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", action], { stdio: "inherit" });
}

async function scenario(name: string, fault: () => Promise<void>) {
  const schema = freshSchema(name);
  schemas.push(schema);
  const db = `${PG_URL}?schema=${schema}&application_name=${APP}`;
  const log = join(tmp.dir, `${schema}.log`);
  const store = new PostgresStore({ url: `${PG_URL}?schema=${schema}`, poolSize: 2, onWarning: () => {} });
  await store.queueEnsure({ queue: "q", concurrency: null });
  const ids = await addJobs(store, "q", 1000, () => ({ ms: 5 }));
  await store.close();
  await Promise.all(
    Array.from({ length: 4 }, () => startWorker({ db, log, concurrency: 4, queue: "q", leaseMs: 5000, reaperMs: 500, jobMs: 5 })),
  );
  await until("work under way", () => readLog(log).length >= 150);
  await fault();
  await until("every job completed", async () => (await counts(schema))?.completed === 1000, 120_000);
  const final = (await counts(schema))!;
  expect(final).toEqual({ completed: 1000, running: 0, total: 1000 });
  const runs = runCounts(readLog(log));
  expect(new Set(runs.keys())).toEqual(new Set(ids));
  // A second run is possible only where an attempt's completion could not be confirmed before
  // its lease ran out; it is rare and bounded, never a lost job.
  expect([...runs.values()].filter((n) => n > 1).length).toBeLessThan(20);
  // The workers are still alive and stop cleanly.
  for (const c of children) c.kill("SIGTERM");
  expect((await Promise.all(children.map(exited))).every((code) => code === 0)).toBe(true);
}

describe("PostgreSQL faults", () => {
  it("all worker connections terminated mid-run, twice: every job completes exactly once", async () => {
    await scenario("term", async () => {
      for (let i = 0; i < 2; i++) {
        const killed = await admin<{ ok: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = '${APP}'`,
        );
        expect(killed?.length ?? 0).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 300));
      }
    });
  });

  it("the server restarted mid-run: workers reconnect by themselves and every job completes exactly once", async () => {
    await scenario("restart", async () => {
      cluster("restart");
      await requirePostgresAgain();
    });
  });
});

async function requirePostgresAgain(): Promise<void> {
  await until("the server to accept connections", async () => (await admin("SELECT 1")) !== null, 60_000);
}
