/**
 * Maintenance leadership among real worker processes, on a SQLite file and on a PostgreSQL
 * schema: one process reaps and fires cron ticks while the others wait; kill -9 it and another
 * takes over within seconds, so an expired lease is still reaped and the ticks keep coming.
 */
import { fork } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import type { Store } from "../../src/store/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { FIXTURES, assertBuilt, children, exited, killChildren, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
const schemas: string[] = [];
beforeAll(assertBuilt);
afterEach(killChildren);
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
  tmp.cleanup();
});

const LEASE_MS = 2000;
const REAPER_MS = 500;

function startProcess(db: string, log: string) {
  const child = fork(join(FIXTURES, "maintenance-process.mjs"), [db, log, String(LEASE_MS), String(REAPER_MS)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise<typeof child>((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

interface Call {
  what: "reap" | "cron";
  pid: number;
  at: number;
}

function calls(log: string, since = 0): Call[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [what, pid, at] = l.split(" ");
      return { what: what as Call["what"], pid: Number(pid), at: Number(at) };
    })
    .filter((c) => c.at >= since);
}

const pids = (cs: Call[]) => new Set(cs.map((c) => c.pid));

async function setup(kind: "sqlite" | "postgres"): Promise<{ db: string; store: Store; log: string }> {
  if (kind === "sqlite") {
    const db = join(tmp.dir, "leader.db");
    return { db, store: new SqliteStore({ path: db }), log: join(tmp.dir, "sqlite-calls.log") };
  }
  await requirePostgres();
  const schema = freshSchema("leader");
  schemas.push(schema);
  const db = `${PG_URL}?schema=${schema}`;
  return { db, store: new PostgresStore({ url: db, poolSize: 2, onWarning: () => {} }), log: join(tmp.dir, `${schema}-calls.log`) };
}

describe.each(["sqlite", "postgres"] as const)("maintenance leadership among worker processes on %s", (kind) => {
  it("one of three processes reaps and fires cron; kill -9 it and another takes over within seconds", async () => {
    const { db, store, log } = await setup(kind);
    try {
      await store.queueEnsure({ queue: "q", concurrency: null });
      await store.cronSet({ schedule: { name: "pulse", pattern: "* * * * * *", kind: "work", queue: "q" } });
      for (let i = 0; i < 3; i++) await startProcess(db, log);
      await until("maintenance under way", () => calls(log).filter((c) => c.what === "reap").length >= 3, 20_000);
      await sleep(2500);
      const steady = calls(log);
      expect(pids(steady).size).toBe(1);
      expect(steady.filter((c) => c.what === "cron").length).toBeGreaterThanOrEqual(2);
      const leader = steady[0]!.pid;

      // A worker that claims a job and dies without a word: only a reaper can give it back.
      await store.jobAddMany({ jobs: prepareJobs([{ kind: "work", queue: "ghost" }]) });
      const claimed = await store.jobClaim({ workerId: "ghost", limit: 1, leaseMs: 1000, queues: ["ghost"], kinds: ["work"] });
      const ghost = claimed.jobs[0]!.job;
      const victim = children.find((c) => c.pid === leader)!;
      victim.kill("SIGKILL");
      const killedAt = Date.now();
      await exited(victim);

      await until("the ghost's job to be reaped", async () => (await store.jobGet({ id: ghost.id }))!.status === "queued", 15_000);
      const [lost] = await store.jobAttempts({ id: ghost.id });
      expect(lost!.outcome).toBe("lost");
      // Its lease ran out a second after the kill; a new leader reaped it within a few more.
      expect(lost!.finishedAt - killedAt).toBeLessThan(4000);

      await sleep(3000);
      const after = calls(log, killedAt + 2000);
      expect(pids(after).size).toBe(1);
      expect(pids(after).has(leader)).toBe(false);
      // Cron ticks kept coming after the takeover, each second's tick fired once.
      const keys = (await store.jobList({ queue: "q", limit: 1000 })).map((j) => j.key!);
      expect(new Set(keys).size).toBe(keys.length);
      const ticks = new Set(keys.map((k) => Number(/^cron:pulse:(\d+)$/.exec(k)![1])));
      for (let t = Math.ceil((killedAt + 2500) / 1000) * 1000; t <= Date.now() - 1500; t += 1000) {
        expect(ticks.has(t), `the tick at ${new Date(t).toISOString()}`).toBe(true);
      }
    } finally {
      killChildren();
      await store.close();
    }
  });
});
