import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { runStoreConformance } from "./conformance/index.js";

beforeAll(requirePostgres);

runStoreConformance("postgres", async () => {
  const schema = freshSchema("conf");
  const store = new PostgresStore({ url: PG_URL, schema, poolSize: 4, onWarning: () => {} });
  const opened: PostgresStore[] = [];
  return {
    store,
    reopen: async () => {
      const s = new PostgresStore({ url: PG_URL, schema, poolSize: 4, onWarning: () => {} });
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
});

describe("postgres plans", () => {
  it("a queue filled fast is claimed through its index, in order, not by sorting every waiting job", async () => {
    const schema = freshSchema("plan");
    const store = new PostgresStore({ url: PG_URL, schema, poolSize: 2, onWarning: () => {} });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await store.queueEnsure({ queue: "deep", concurrency: null });
      for (let i = 0; i < 30; i++) await store.jobAddMany({ jobs: prepareJobs(Array.from({ length: 1000 }, () => ({ kind: "k", queue: "deep" }))) });
      // The store refreshes the statistics itself once the table has outgrown them; autovacuum would take a minute or more.
      let analyzed = false;
      for (let i = 0; i < 100 && !analyzed; i++) {
        const r = await admin.query("SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'", [schema]);
        analyzed = r.rows[0]?.last_analyze != null;
        if (!analyzed) await new Promise((r) => setTimeout(r, 50));
      }
      expect(analyzed).toBe(true);
      const plan = await admin.query(
        `EXPLAIN SELECT id FROM "${schema}".jobs WHERE queue = 'deep' AND status = 'queued' AND target IS NULL ORDER BY priority, position, id LIMIT 500`,
      );
      const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(text).toMatch(/Index Scan using jobs_ready/);
      expect(text).not.toMatch(/Sort/);
      const { jobs } = await store.jobClaim({ workerId: "w", limit: 500, leaseMs: 60_000 });
      expect(jobs).toHaveLength(500);
    } finally {
      await admin.end();
      await store.close();
      await dropSchema(schema);
    }
  });
});
