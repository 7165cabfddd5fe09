/** Cron schedules: each tick fired once. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function cronSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("cron schedules", () => {
    // T0 is 2023-11-14T22:13:20Z.
    const MINUTE = T0 + 40_000;
    const HOUR = T0 + 2_800_000;
    const everyMinute = { name: "minutely", pattern: "* * * * *", timezone: "UTC", kind: "report", payload: { n: 1 }, queue: "crons", priority: "high" as const };

    it("sets, lists, replaces and removes schedules", async () => {
      const s = await store.cronSet({ schedule: everyMinute, now: T0 });
      expect(s).toEqual({
        name: "minutely",
        pattern: "* * * * *",
        timezone: "UTC",
        queue: "crons",
        kind: "report",
        payload: { n: 1 },
        priority: "high",
        nextAt: MINUTE,
        createdAt: T0,
      });
      await store.cronSet({ schedule: { name: "hourly", pattern: "0 * * * *", timezone: "UTC", kind: "sync" }, now: T0 });
      expect((await store.cronList()).map((c) => [c.name, c.nextAt, c.queue, c.priority])).toEqual([
        ["hourly", HOUR, "default", "normal"],
        ["minutely", MINUTE, "crons", "high"],
      ]);
      // The same name again replaces the schedule, keeping when it was first set.
      const replaced = await store.cronSet({ schedule: { ...everyMinute, pattern: "0 9 * * *", timezone: "Europe/Paris" }, now: T0 + 5 });
      expect(replaced).toMatchObject({ pattern: "0 9 * * *", timezone: "Europe/Paris", nextAt: Date.UTC(2023, 10, 15, 8), createdAt: T0 });
      expect(await store.cronRemove({ name: "minutely" })).toBe(true);
      expect(await store.cronRemove({ name: "minutely" })).toBe(false);
      expect((await store.cronList()).map((c) => c.name)).toEqual(["hourly"]);
    });

    it("refuses a bad expression or timezone, naming the field, and stores nothing", async () => {
      await expect(store.cronSet({ schedule: { ...everyMinute, pattern: "every minute" } })).rejects.toThrow(ValidationError);
      await expect(store.cronSet({ schedule: { ...everyMinute, pattern: "61 * * * *" } })).rejects.toThrow(/^pattern: .*e\.g\. "\*\/5 \* \* \* \*"/);
      await expect(store.cronSet({ schedule: { ...everyMinute, timezone: "Mars/Olympus" } })).rejects.toThrow(/^timezone: .*e\.g\. "Europe\/Paris"/);
      await expect(store.cronSet({ schedule: { ...everyMinute, name: "no spaces" } })).rejects.toThrow(/^name: /);
      expect(await store.cronList()).toEqual([]);
    });

    it("fires one job per due schedule, keyed by its tick, and moves each on to its next tick", async () => {
      await store.cronSet({ schedule: everyMinute, now: T0 });
      await store.cronSet({ schedule: { name: "hourly", pattern: "0 * * * *", timezone: "UTC", kind: "sync" }, now: T0 });
      expect(await store.cronFire({ now: MINUTE - 1 })).toEqual([]);
      const fired = await store.cronFire({ now: MINUTE });
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        queue: "crons",
        kind: "report",
        payload: { n: 1 },
        priority: "high",
        status: "queued",
        name: "minutely",
        key: `cron:minutely:${MINUTE}`,
        runAt: MINUTE,
      });
      expect(await store.jobGet({ id: fired[0]!.id })).toMatchObject({ status: "queued", key: `cron:minutely:${MINUTE}` });
      expect(await store.cronFire({ now: MINUTE + 500 })).toEqual([]);
      expect((await store.cronList()).map((c) => c.nextAt)).toEqual([HOUR, MINUTE + 60_000]);
      // The minutely schedule missed the ticks in between: it fires once, for the first of them.
      const both = await store.cronFire({ now: HOUR });
      expect(both.map((j) => j.key).sort()).toEqual([`cron:hourly:${HOUR}`, `cron:minutely:${MINUTE + 60_000}`]);
      expect((await store.cronList()).map((c) => c.nextAt)).toEqual([HOUR + 3_600_000, HOUR + 60_000]);
      expect(await store.jobList({})).toHaveLength(3);
    });

    it("fires a tick once when several connections fire at the same moment", async () => {
      const others = await Promise.all([h.reopen(), h.reopen()]);
      extra.push(...others);
      await store.cronSet({ schedule: { ...everyMinute, pattern: "* * * * * *" }, now: T0 });
      await store.cronSet({ schedule: { name: "other", pattern: "* * * * * *", timezone: "UTC", kind: "k" }, now: T0 });
      // Warm connections, so the racing calls really overlap.
      await Promise.all([store, ...others].map((s) => s.cronFire({ now: T0 })));
      let added = 0;
      for (let second = 1; second <= 5; second++) {
        const now = T0 + second * 1000;
        const rounds = await Promise.all([...others, store, ...others].map((s) => s.cronFire({ now })));
        added += rounds.flat().length;
      }
      expect(added).toBe(10);
      const keys = (await store.jobList({ limit: 100 })).map((j) => j.key);
      expect(keys).toHaveLength(10);
      expect(new Set(keys).size).toBe(10);
    });

    it("fires once for a missed window, then waits for the next tick after now", async () => {
      await store.cronSet({ schedule: everyMinute, now: T0 });
      const late = MINUTE + 10 * 60_000 + 30_000;
      const fired = await store.cronFire({ now: late });
      expect(fired.map((j) => j.key)).toEqual([`cron:minutely:${MINUTE}`]);
      expect((await store.cronList())[0]!.nextAt).toBe(MINUTE + 11 * 60_000);
      // Once the tick's job has ended its key is free again: what stops a second fire is the schedule having moved on.
      const [c] = await claim(1, late, { queues: ["crons"] });
      await complete(store, { id: c!.job.id, token: c!.token, now: late });
      const other = await h.reopen();
      extra.push(other);
      expect(await other.cronFire({ now: late })).toEqual([]);
      expect(await store.cronFire({ now: late })).toEqual([]);
      expect(await store.jobList({})).toHaveLength(1);
    });
  });
}
