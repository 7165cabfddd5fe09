/** Adding jobs: fields, batches, keys. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function addingSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("adding", () => {
    it("stores every field of a job and gives it a time-sortable id", async () => {
      const job = await add({
        kind: "email",
        payload: { to: "a@b.c", n: [1, 2] },
        queue: "mail",
        priority: "P2",
        name: "welcome",
        labels: { team: "growth" },
        maxAttempts: 4,
        backoff: "fibonacci:2s:1m",
        timeout: "30s",
        key: "welcome:a@b.c",
      });
      const got = (await store.jobGet({ id: job.id }))!;
      expect(got).toMatchObject({
        queue: "mail",
        kind: "email",
        payload: { to: "a@b.c", n: [1, 2] },
        status: "queued",
        priority: "high",
        name: "welcome",
        labels: { team: "growth" },
        maxAttempts: 4,
        attempts: 0,
        backoff: { strategy: "fibonacci", baseMs: 2000, capMs: 60_000, jitter: 0 },
        timeoutMs: 30_000,
        key: "welcome:a@b.c",
        createdAt: T0,
        startedAt: null,
        finishedAt: null,
      });
      const later = await add({ kind: "email" }, T0 + 1);
      expect(later.id > job.id).toBe(true);
      expect((await store.queueGet({ queue: "mail" }))!).toMatchObject({ state: "running", concurrency: 1 });
    });

    it("refuses a dependency on an unknown job and writes nothing of the batch", async () => {
      const before = await store.jobList({});
      await expect(
        addMany([{ kind: "a" }, { kind: "b", dependsOn: ["01hzzzzzzzzzzzzzzzzzzzzzzz"] }]),
      ).rejects.toThrow(ValidationError);
      await expect(addMany([{ kind: "a" }, { kind: "b", dependsOn: ["nope"] }])).rejects.toThrow(/jobs\[1\]\.dependsOn: unknown job nope/);
      expect(await store.jobList({})).toEqual(before);
    });

    it("returns the job holding a unique key instead of adding another, and frees the key when it ends", async () => {
      const first = await add({ kind: "sync", key: "user:1" });
      const again = await store.jobAddMany({ jobs: prepareJobs([{ kind: "sync", key: "user:1" }], T0), now: T0 });
      expect(again[0]).toMatchObject({ created: false, job: { id: first.id } });
      // Another queue has its own keys.
      const other = await add({ kind: "sync", key: "user:1", queue: "other" });
      expect(other.id).not.toBe(first.id);
      const [c] = await claim();
      await complete(store, { id: c!.job.id, token: c!.token, now: T0 });
      const fresh = await add({ kind: "sync", key: "user:1" });
      expect(fresh.id).not.toBe(first.id);
    });

    it("holds a unique key under concurrent adds from several connections", async () => {
      const stores = [store, ...(await Promise.all([h.reopen(), h.reopen(), h.reopen()]))];
      extra.push(...stores.slice(1));
      const results = await Promise.all(
        stores.flatMap((s) =>
          Array.from({ length: 5 }, () => s.jobAddMany({ jobs: prepareJobs([{ kind: "k", key: "same" }]) })),
        ),
      );
      const ids = new Set(results.map((r) => r[0]!.job.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r[0]!.created)).toHaveLength(1);
      expect(await store.jobList({ status: ["queued"] })).toHaveLength(1);
    });
  });
}
