import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Runway, ValidationError, open } from "../../src/index.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { tempDir } from "../helpers/tmp.js";

const schema = freshSchema("txadd");
let rw: Runway;
let client: pg.Client;

beforeAll(async () => {
  await requirePostgres();
  rw = open({ db: `${PG_URL}?schema=${schema}` });
  await rw.queue("mail", { concurrency: null });
  client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
});

afterAll(async () => {
  await client.end();
  await rw.close();
  await dropSchema(schema);
});

describe("adding a job inside the caller's own transaction", () => {
  it("exists only if that transaction commits, and wakes workers when it does", async () => {
    await client.query("BEGIN");
    const rolledBack = await rw.add("welcome", { user: 1 }, { queue: "mail", client });
    await client.query("ROLLBACK");
    expect(await rw.get(rolledBack.id)).toBeNull();

    const started = new Promise<string>((resolve) => rw.once("started", ({ job }) => resolve(job.id)));
    rw.worker({ queues: ["mail"], handlers: { welcome: async () => {} } });
    await client.query("BEGIN");
    const kept = await rw.add("welcome", { user: 2 }, { queue: "mail", client });
    // Not visible to anyone else, and not started, before the commit.
    expect(await rw.get(kept.id)).toBeNull();
    await client.query("COMMIT");
    expect(await started).toBe(kept.id);
  });

  it("is refused with SQLite, saying why", async () => {
    const tmp = tempDir();
    const local = open({ db: `${tmp.dir}/x.db` });
    try {
      await expect(local.add("k", null, { client })).rejects.toThrow(ValidationError);
      await expect(local.add("k", null, { client })).rejects.toThrow(/needs the PostgreSQL store/);
    } finally {
      await local.close();
      tmp.cleanup();
    }
  });
});
