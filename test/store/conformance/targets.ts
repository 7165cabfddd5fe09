/** Targets: remote hosts and their lanes' claims. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function targetsSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("targets", () => {
    const box = { name: "box", host: "alice@box.example", dir: "~/runs", concurrency: 1 };

    it("adds, lists, replaces and removes a target; a duplicate or a bad field is refused", async () => {
      const t = await store.targetSet({ target: box, now: T0 });
      expect(t).toMatchObject({ name: "box", host: "alice@box.example", dir: "runs", port: null, sync: null, excludes: [], concurrency: 1, reachable: null });
      await expect(store.targetSet({ target: box })).rejects.toThrow(ConflictError);
      await store.targetSet({ target: { ...box, port: 2222, concurrency: 2, excludes: ["*.tmp"] }, replace: true });
      expect(await store.targetGet({ name: "box" })).toMatchObject({ port: 2222, concurrency: 2, excludes: ["*.tmp"], createdAt: T0 });
      await expect(store.targetSet({ target: { ...box, name: "two", host: "-oProxyCommand=x" } })).rejects.toThrow(/target.host/);
      await expect(store.targetSet({ target: { ...box, name: "two", port: 70000 } })).rejects.toThrow(/target.port/);
      await expect(store.targetSet({ target: { ...box, name: "bad name" } })).rejects.toThrow(ValidationError);
      await store.targetReport({ name: "box", reachable: false, message: "connection refused", now: T0 + 5 });
      expect((await store.targetList()).map((x) => [x.name, x.reachable, x.message, x.checkedAt])).toEqual([["box", false, "connection refused", T0 + 5]]);
      expect(await store.targetRemove({ name: "box" })).toBe(true);
      expect(await store.targetRemove({ name: "box" })).toBe(false);
      expect(await store.targetList()).toEqual([]);
    });

    it("refuses a job for an unknown target, and removing a target that still has jobs", async () => {
      await expect(add({ kind: "shell", target: "nowhere" })).rejects.toThrow(NotFoundError);
      await expect(add({ kind: "shell", target: "nowhere" })).rejects.toThrow(/runway target add nowhere/);
      expect(await store.jobList({})).toEqual([]);
      await store.targetSet({ target: box });
      const j = await add({ kind: "shell", target: "box" });
      expect(j.target).toBe("box");
      expect(await store.targetCounts()).toEqual({ box: { queued: 1 } });
      await expect(store.targetRemove({ name: "box" })).rejects.toThrow(/still has 1 job/);
      await store.jobCancel({ id: j.id });
      expect(await store.targetRemove({ name: "box" })).toBe(true);
    });

    it("a target's jobs are claimed only by its lane, within the target's limit across queues", async () => {
      await store.targetSet({ target: { ...box, concurrency: 2 } });
      await unlimited("a");
      await unlimited("b");
      const [local] = await addMany([{ kind: "shell", queue: "a" }]);
      const remote = await addMany([
        { kind: "shell", queue: "a", target: "box" },
        { kind: "shell", queue: "b", target: "box" },
        { kind: "shell", queue: "b", target: "box" },
      ]);
      const lane = (limit: number, s: Store = store) =>
        s.jobClaim({ workerId: "lane", limit, leaseMs: 30_000, now: T0, target: "box" }).then((r) => r.jobs);
      const plain = await claim(10);
      expect(plain.map((c) => c.job.id)).toEqual([local!.id]);
      const first = await lane(10);
      expect(first).toHaveLength(2);
      const other = await h.reopen();
      extra.push(other);
      expect(await lane(10, other)).toEqual([]);
      await complete(store, { id: first[0]!.job.id, token: first[0]!.token });
      const next = await lane(10, other);
      expect(next).toHaveLength(1);
      expect(new Set([...first, ...next].map((c) => c.job.id))).toEqual(new Set(remote.map((j) => j.id)));
    });

    it("a job whose target is gone cannot be requeued; an escalation to another kind leaves the target behind", async () => {
      await store.targetSet({ target: box });
      await store.escalationSet({ rule: { queue: null, kind: "shell", after: 1, toQueue: "humans", toKind: "review" } });
      const j = await add({ kind: "shell", target: "box" });
      const [c] = (await store.jobClaim({ workerId: "lane", limit: 1, leaseMs: 30_000, now: T0, target: "box" })).jobs;
      const failed = await fail(store, { id: j.id, token: c!.token, error: "no" });
      const successor = (await store.jobGet({ id: failed.escalatedTo! }))!;
      expect(successor).toMatchObject({ kind: "review", queue: "humans", target: null });
      await store.jobCancel({ id: successor.id });
      await store.targetRemove({ name: "box" });
      await expect(store.jobRequeue({ id: j.id })).rejects.toThrow(/target "box" does not exist/);
    });

    it("a job whose run is open survives the reaper for free, keeps its run, and is claimed first to be adopted", async () => {
      await store.targetSet({ target: box });
      const a = await add({ kind: "shell", target: "box", maxAttempts: 1 });
      const lane = (now: number) => store.jobClaim({ workerId: "lane", limit: 1, leaseMs: 1000, now, target: "box" }).then((r) => r.jobs);
      const [c] = await lane(T0);
      const run = { runId: `${a.id}-1`, attempt: 1, launchedAt: T0 };
      expect(await store.jobRemoteSet({ id: a.id, token: c!.token, remote: run })).toBe(true);
      expect(await store.jobRemoteSet({ id: a.id, token: c!.token + 999, remote: null })).toBe(false);
      // A critical job added meanwhile would normally come first; the open run wins, so the target is not over-filled.
      await add({ kind: "shell", target: "box", priority: "critical" });
      for (let round = 0; round < 3; round++) {
        // Lost three times over: a local job would have failed; a run that is still open costs nothing.
        const now = T0 + 10_000 * (round + 1);
        expect((await store.jobReapExpired({ now })).requeued).toEqual([a.id]);
        const [again] = await lane(now);
        expect(again!.job).toMatchObject({ id: a.id, attempts: 1, remote: run });
      }
    });
  });
}
