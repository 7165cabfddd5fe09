/**
 * What reaches a worker through PostgreSQL alone: wake-ups, a cancel, a pause; what happens when
 * its listening connection is cut; and many stores migrating one schema at once.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Job, type Runway, open } from "../../src/index.js";
import { loadSchemaMigrations } from "../../src/store/postgres/connection.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { until } from "../helpers/processes.js";

const schemas: string[] = [];
const opened: Runway[] = [];

beforeAll(requirePostgres);
afterAll(async () => {
  for (const rw of opened) await rw.close();
  for (const s of schemas) await dropSchema(s);
});

/** A worker's runway and a separate one to steer it: two pools, as two machines would have. */
function pair(name: string) {
  const schema = freshSchema(name);
  schemas.push(schema);
  const db = `${PG_URL}?schema=${schema}`;
  // Polling only every 10 s: anything quicker came through LISTEN/NOTIFY.
  const worker = open({ db, pollIntervalMs: 10_000 });
  const admin = open({ db });
  for (const rw of [worker, admin]) rw.on("warning", () => {});
  opened.push(worker, admin);
  return { worker, admin, schema };
}

async function sql<T = any>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

describe("a worker steered through PostgreSQL", () => {
  it("a cancel reaches a running job on another connection within milliseconds", async () => {
    const { worker, admin } = pair("cancel");
    let signalledAt = 0;
    worker.worker({
      heartbeatMs: 10_000,
      handlers: {
        slow: (_job: Job, ctx) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener("abort", () => {
              signalledAt = Date.now();
              reject(ctx.signal.reason);
            }),
          ),
      },
    });
    const started = new Promise<void>((r) => worker.once("started", () => r()));
    const job = await admin.add("slow", null);
    await started;
    const cancelledAt = Date.now();
    await admin.cancel(job.id);
    await until("the job to end cancelled", async () => (await admin.get(job.id))!.status === "cancelled", 5000);
    expect(signalledAt - cancelledAt).toBeLessThan(500);
  });

  it("a pause stops claims at once, and a resume wakes the worker", async () => {
    const { worker, admin } = pair("pause");
    await admin.queue("default");
    await admin.pause("default");
    let startedAt = 0;
    worker.worker({ handlers: { k: async () => void (startedAt = Date.now()) } });
    const job = await admin.add("k", null);
    await new Promise((r) => setTimeout(r, 300));
    expect((await admin.get(job.id))!.status).toBe("queued");
    const resumedAt = Date.now();
    await admin.resume("default");
    await until("the job to complete", async () => (await admin.get(job.id))!.status === "completed", 5000);
    expect(startedAt - resumedAt).toBeLessThan(500);
  });

  it("the listening connection reconnects by itself when it is cut", async () => {
    const { worker, admin, schema } = pair("relisten");
    const starts: number[] = [];
    worker.worker({ handlers: { k: async () => void starts.push(Date.now()) } });
    await until("the worker to listen", async () => (await sql(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "runway_${schema}"'`)).length > 0, 5000);
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN "runway_${schema}"'`);
    await until("the worker to listen again", async () => (await sql(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "runway_${schema}"'`)).length > 0, 10_000);
    const addedAt = Date.now();
    await admin.add("k", null);
    await until("the job to start", () => starts.length > 0, 5000);
    expect(starts[0]! - addedAt).toBeLessThan(500);
  });
});

describe("migrations", () => {
  it("twenty stores opening a new schema at once migrate it exactly once", async () => {
    const schema = freshSchema("migrate");
    schemas.push(schema);
    const stores = Array.from({ length: 20 }, () => new PostgresStore({ url: PG_URL, schema, poolSize: 1, onWarning: () => {} }));
    try {
      const results = await Promise.allSettled(stores.map((s) => s.queueList()));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      const rows = await sql<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(loadSchemaMigrations('"x"').map((m) => m.version));
      expect(rows.length).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
