/** Upgrading a database made by an earlier runway: nothing recorded is lost or renumbered. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { loadMigrations } from "../../src/store/migrations.js";
import { migrate, openConnection } from "../../src/store/sqlite/connection.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { tempDir } from "../helpers/tmp.js";
import { complete } from "./verbs.js";

const DIR = fileURLToPath(new URL("../../src/store/sqlite/migrations/", import.meta.url));
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe("migration 006: attempt numbers", () => {
  it("a job retried twice before the upgrade continues after its highest recorded attempt", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const path = join(tmp.dir, "old.db");
    // The schema as runway left it before 006, with the history the old requeue wrote: "attempt 1" three times.
    const db = openConnection(path, { durability: "normal", busyTimeoutMs: 1000 });
    migrate(db, loadMigrations(DIR).filter((m) => m.version <= 5));
    const [n] = prepareJobs([{ kind: "k", maxAttempts: 1 }]);
    db.prepare(
      `INSERT INTO jobs (id, queue, kind, payload, status, priority, position, labels, depends_on, max_attempts, attempts, backoff, run_at, created_at, finished_at, error)
       VALUES (?, 'default', 'k', '{}', 'failed', 3, 1, '{}', '[]', 1, 1, ?, 0, 0, 5, 'boom')`,
    ).run(n!.id, JSON.stringify(n!.backoff));
    db.prepare("INSERT INTO queues (name, created_at) VALUES ('default', 0)").run();
    const rec = db.prepare("INSERT INTO job_attempts (job_id, attempt, started_at, finished_at, outcome, error) VALUES (?, 1, ?, ?, 'failed', ?)");
    for (let i = 0; i < 3; i++) rec.run(n!.id, i, i + 1, `boom ${i + 1}`);
    db.close();

    const store = new SqliteStore({ path });
    try {
      expect(await store.jobGet({ id: n!.id })).toMatchObject({ attempts: 1, attempt: 1 });
      await store.jobRequeue({ id: n!.id });
      const { jobs } = await store.jobClaim({ workerId: "w", limit: 1, leaseMs: 1000 });
      expect(jobs[0]!.job).toMatchObject({ attempt: 2, attempts: 1 });
      await complete(store, { id: n!.id, token: jobs[0]!.token });
      const history = await store.jobAttempts({ id: n!.id });
      // The old records are all still there, as they were; the new attempt has a number of its own.
      expect(history.map((a) => [a.attempt, a.error])).toEqual([
        [1, "boom 1"],
        [1, "boom 2"],
        [1, "boom 3"],
        [2, null],
      ]);
    } finally {
      await store.close();
    }
  });
});
