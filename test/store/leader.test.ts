/**
 * The maintenance leader lease of each store: one holder at a time, the next one in when it lets
 * go, and a stalled holder replaced (SQLite: stood in for; PostgreSQL: its session ended).
 */
import { existsSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import type { LeaderLease } from "../../src/store/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const quiet = { onWarning: () => {} };

describe("SQLite maintenance leader", () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);

  it("one holder per file: the second waits, and takes over once the first lets go", async () => {
    const path = join(tmp.dir, "one.db");
    const a = new SqliteStore({ path });
    const b = new SqliteStore({ path });
    const la = a.maintenanceLeader(quiet);
    const lb = b.maintenanceLeader(quiet);
    try {
      expect(await la.renew()).toBe(true);
      expect(await lb.renew()).toBe(false);
      expect(await la.renew()).toBe(true);
      expect(await lb.renew()).toBe(false);
      // The lock is on a sidecar file, so the database itself stays free for everyone.
      expect(existsSync(`${path}-maintenance`)).toBe(true);
      expect(statSync(`${path}-maintenance`).mode & 0o777).toBe(0o600);
      await a.queueEnsure({ queue: "q" });
      await la.release();
      expect(await lb.renew()).toBe(true);
      expect(await la.renew()).toBe(false);
    } finally {
      await la.release();
      await lb.release();
      await a.close();
      await b.close();
    }
  });

  it("a holder silent for more than 5 s is stood in for until it renews again", async () => {
    const path = join(tmp.dir, "stall.db");
    const store = new SqliteStore({ path });
    const holder = store.maintenanceLeader(quiet);
    const waiting = store.maintenanceLeader(quiet);
    try {
      expect(await holder.renew()).toBe(true);
      expect(await waiting.renew()).toBe(false);
      // As if the holder had been frozen for ten seconds.
      const past = new Date(Date.now() - 10_000);
      utimesSync(`${path}-maintenance`, past, past);
      expect(await waiting.renew()).toBe(true);
      expect(await holder.renew()).toBe(true);
      expect(await waiting.renew()).toBe(false);
    } finally {
      await holder.release();
      await waiting.release();
      await store.close();
    }
  });

  it("a database in memory belongs to its process, which leads", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    const lease = store.maintenanceLeader(quiet);
    expect(await lease.renew()).toBe(true);
    expect(await store.maintenanceLeader(quiet).renew()).toBe(true);
    await lease.release();
    await store.close();
  });
});

describe("PostgreSQL maintenance leader", () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  const leases: LeaderLease[] = [];
  beforeAll(requirePostgres);
  afterAll(async () => {
    for (const l of leases) await l.release();
    for (const s of stores) await s.close();
    for (const s of schemas) await dropSchema(s);
  });

  function store(schema: string): PostgresStore {
    const s = new PostgresStore({ url: `${PG_URL}?schema=${schema}`, poolSize: 1, onWarning: () => {} });
    stores.push(s);
    return s;
  }
  function lease(s: PostgresStore): LeaderLease {
    const l = s.maintenanceLeader(quiet);
    leases.push(l);
    return l;
  }

  it("one holder per schema: the second waits, another schema has its own, and the next takes over on release", async () => {
    const schema = freshSchema("lead");
    const other = freshSchema("lead");
    schemas.push(schema, other);
    const a = lease(store(schema));
    const b = lease(store(schema));
    const c = lease(store(other));
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    expect(await c.renew()).toBe(true);
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    await a.release();
    expect(await b.renew()).toBe(true);
    expect(await a.renew()).toBe(false);
  });

  it("a holder that stops renewing loses its session, and the lock, within a few seconds", async () => {
    const schema = freshSchema("stall");
    schemas.push(schema);
    const holder = lease(store(schema));
    const waiting = lease(store(schema));
    expect(await holder.renew()).toBe(true);
    const t0 = Date.now();
    // The holder now says nothing, as a frozen process would; the server ends its idle session.
    await until("the waiting lease to take over", () => waiting.renew(), 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
    expect(await holder.renew()).toBe(false);
  });
});
