/**
 * Maintenance in one process: a runway's workers share one, a worker that keeps no house takes
 * no part, two runways on one file have one leader between them, and retention deletes old jobs.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type Runway, open } from "../../src/index.js";
import { until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const opened: Runway[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const rw of opened.splice(0)) await rw.close();
  for (const c of cleanups.splice(0)) c();
});

function dbPath(): string {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  return join(tmp.dir, "runway.db");
}

/** A runway whose reaper calls are counted. */
function counted(db: string, options: { retention?: number | string } = {}): { rw: Runway; reaps: () => number } {
  const rw = open({ db, ...options });
  rw.on("warning", () => {});
  opened.push(rw);
  let n = 0;
  const reap = rw.store.jobReapExpired.bind(rw.store);
  rw.store.jobReapExpired = (params) => {
    n++;
    return reap(params);
  };
  return { rw, reaps: () => n };
}

const handlers = { k: async () => {} };

describe("maintenance", () => {
  it("a runway's workers share one reaper: more workers do not reap more often", async () => {
    const { rw, reaps } = counted(dbPath());
    for (let i = 0; i < 4; i++) rw.worker({ handlers, reaperIntervalMs: 100 });
    await sleep(1000);
    // About ten reaps in a second: one reaper at 100 ms, not four.
    expect(reaps()).toBeGreaterThan(3);
    expect(reaps()).toBeLessThanOrEqual(14);
  });

  it("a worker that keeps no house never reaps", async () => {
    const { rw, reaps } = counted(dbPath());
    rw.worker({ handlers, reaperIntervalMs: 50, housekeeping: false });
    await sleep(500);
    expect(reaps()).toBe(0);
  });

  it("two runways on one file, as two processes would be: one leads, and the other takes over when it closes", async () => {
    const db = dbPath();
    const a = counted(db);
    const b = counted(db);
    const wa = a.rw.worker({ handlers, reaperIntervalMs: 100 });
    await until("the first to lead", () => a.reaps() > 0);
    b.rw.worker({ handlers, reaperIntervalMs: 100 });
    await sleep(1500);
    expect(b.reaps()).toBe(0);
    await wa.stop();
    await until("the second to take over", () => b.reaps() > 0, 5000);
    const before = a.reaps();
    await sleep(300);
    expect(a.reaps()).toBe(before);
  });

  it("with a retention, the leader deletes jobs that finished longer ago than that", async () => {
    const db = dbPath();
    const first = open({ db });
    first.on("warning", () => {});
    opened.push(first);
    const done = new Promise((r) => first.once("completed", r));
    const old = await first.add("k", null);
    const w = first.worker({ handlers });
    await done;
    await w.stop();
    const kept = await first.add("k", null, { delay: "1h" });
    await sleep(100);
    const { rw } = counted(db, { retention: "50ms" });
    rw.worker({ handlers });
    await until("the finished job to be deleted", async () => (await rw.get(old.id)) === null, 5000);
    expect((await rw.get(kept.id))?.status).toBe("scheduled");
  });

  it("refuses a retention that is not a duration", () => {
    expect(() => open({ db: dbPath(), retention: "a while" })).toThrow(/retention: not a duration/);
  });
});
