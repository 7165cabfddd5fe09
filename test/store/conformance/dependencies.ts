/** Dependencies: blocking, unblocking and skipping downstream. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function dependenciesSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("dependencies", () => {
    it("a chain runs in order: blocked until the dependency completes", async () => {
      await unlimited();
      const [a, b, c] = await addMany([
        { ref: "a", kind: "k" },
        { ref: "b", kind: "k", dependsOn: ["a"] },
        { kind: "k", dependsOn: ["b"] },
      ]);
      expect([a!.status, b!.status, c!.status]).toEqual(["queued", "blocked", "blocked"]);
      expect(b!.dependsOn).toEqual([a!.id]);
      for (const next of [a!, b!, c!]) {
        const got = await claim(10);
        expect(got.map((x) => x.job.id)).toEqual([next.id]);
        await complete(store, { id: next.id, token: got[0]!.token });
      }
    });

    it("fan-in waits for every dependency; a delayed dependent becomes scheduled", async () => {
      await unlimited();
      const [a, b] = await addMany([{ kind: "k" }, { kind: "k" }]);
      const join = await add({ kind: "k", dependsOn: [a!.id, b!.id], delay: "1h" });
      const got = await claim(10);
      await complete(store, { id: a!.id, token: got.find((x) => x.job.id === a!.id)!.token });
      expect(await status(join.id)).toBe("blocked");
      await complete(store, { id: b!.id, token: got.find((x) => x.job.id === b!.id)!.token, now: T0 + 10 });
      expect(await status(join.id)).toBe("scheduled");
    });

    it("a failure skips its dependents transitively, naming the upstream job", async () => {
      await unlimited();
      const [a, b, c, other] = await addMany([
        { ref: "a", kind: "k" },
        { ref: "b", kind: "k", dependsOn: ["a"] },
        { kind: "k", dependsOn: ["b"] },
        { kind: "k" },
      ]);
      const [ca] = await claim(1);
      await fail(store, { id: a!.id, token: ca!.token, error: "nope" });
      expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} failed` });
      expect(await store.jobGet({ id: c!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} failed` });
      expect(await status(other!.id)).toBe("queued");
      // A job added later on a doomed job is skipped at once.
      const late = await add({ kind: "k", dependsOn: [c!.id] });
      expect(late.status).toBe("skipped");
    });

    it("cancelling or skipping a job skips its dependents too", async () => {
      const [a, b] = await addMany([{ ref: "a", kind: "k" }, { kind: "k", dependsOn: ["a"] }]);
      await store.jobCancel({ id: a!.id });
      expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${a!.id} cancelled` });
      const [c, d] = await addMany([{ ref: "c", kind: "k" }, { kind: "k", dependsOn: ["c"] }]);
      await store.jobSkip({ id: c!.id });
      expect(await store.jobGet({ id: d!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${c!.id} was skipped` });
    });

    it("requeueing the upstream returns skipped dependents to blocked, and they run", async () => {
      await unlimited();
      const [a, b, c] = await addMany([
        { ref: "a", kind: "k" },
        { ref: "b", kind: "k", dependsOn: ["a"] },
        { kind: "k", dependsOn: ["b"] },
      ]);
      const [ca] = await claim(1);
      await fail(store, { id: a!.id, token: ca!.token, error: "nope" });
      await expect(store.jobRequeue({ id: c!.id })).rejects.toThrow(new RegExp(`requeue ${a!.id} first`));
      const re = await store.jobRequeue({ id: a!.id });
      expect(re).toMatchObject({ status: "queued", attempts: 0, error: null });
      expect(await status(b!.id)).toBe("blocked");
      expect(await store.jobGet({ id: c!.id })).toMatchObject({ status: "blocked", reason: null });
      for (const next of [a!, b!, c!]) {
        const [x] = await claim(10);
        expect(x!.job.id).toBe(next.id);
        await complete(store, { id: next.id, token: x!.token });
      }
    });

    it("un-skipping keeps a job skipped while another of its dependencies is still doomed", async () => {
      const [a, b, d] = await addMany([{ ref: "a", kind: "k" }, { ref: "b", kind: "k" }, { kind: "k", dependsOn: ["a", "b"] }]);
      await store.jobCancel({ id: a!.id });
      await store.jobCancel({ id: b!.id });
      await store.jobRequeue({ id: a!.id });
      expect(await store.jobGet({ id: d!.id })).toMatchObject({ status: "skipped", reason: `upstream job ${b!.id} cancelled` });
      await store.jobRequeue({ id: b!.id });
      expect(await status(d!.id)).toBe("blocked");
    });

    it("refuses a dependency cycle and a job depending on itself", async () => {
      await expect(addMany([{ ref: "a", kind: "k", dependsOn: ["b"] }, { ref: "b", kind: "k", dependsOn: ["a"] }])).rejects.toThrow(/cycle/);
      await expect(addMany([{ ref: "a", kind: "k", dependsOn: ["a"] }])).rejects.toThrow(/itself/);
      expect(await store.jobList({})).toHaveLength(0);
    });
  });
}
