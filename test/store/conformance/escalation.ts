/** Escalation: the successor and the chain. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, T0 } from "./harness.js";

export function escalationSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("escalation", () => {
    it("aider twice, then codex, then a human-review queue: one chain, linked both ways", async () => {
      await store.escalationSet({ rule: { queue: null, kind: "aider", after: 2, toQueue: null, toKind: "codex" } });
      await store.escalationSet({ rule: { queue: null, kind: "codex", after: 1, toQueue: "human-review", toKind: "review" } });
      expect(await store.escalationList()).toHaveLength(2);
      const j = await add({ kind: "aider", payload: { task: "fix bug" }, maxAttempts: 5, backoff: "immediate", priority: "high" });
      const downstream = await add({ kind: "deploy", dependsOn: [j.id] });
      let [c] = await claim();
      expect((await fail(store, { id: j.id, token: c!.token, error: "e1" })).status).toBe("queued");
      [c] = await claim();
      const o = await fail(store, { id: j.id, token: c!.token, error: "e2" });
      expect(o).toMatchObject({ status: "failed", escalatedTo: expect.any(String) });
      const codex = (await store.jobGet({ id: o.escalatedTo! }))!;
      expect(codex).toMatchObject({ kind: "codex", queue: "default", payload: { task: "fix bug" }, priority: "high", status: "queued", escalatedFrom: j.id, attempts: 0 });
      expect(await store.jobGet({ id: j.id })).toMatchObject({ status: "failed", escalatedTo: codex.id, reason: expect.stringMatching(/^escalated to/) });
      // The dependent now waits on the successor instead of being skipped.
      expect(await store.jobGet({ id: downstream.id })).toMatchObject({ status: "blocked", dependsOn: [codex.id] });
      [c] = await claim();
      const o2 = await fail(store, { id: codex.id, token: c!.token, error: "e3" });
      const review = (await store.jobGet({ id: o2.escalatedTo! }))!;
      expect(review).toMatchObject({ queue: "human-review", kind: "review", escalatedFrom: codex.id });
      for (const id of [j.id, codex.id, review.id]) {
        expect((await store.jobChain({ id })).map((x) => x.kind)).toEqual(["aider", "codex", "review"]);
      }
      [c] = await claim(1, T0, { queues: ["human-review"] });
      await complete(store, { id: review.id, token: c!.token });
      // It followed the chain to its end and runs once the last successor completed.
      expect(await store.jobGet({ id: downstream.id })).toMatchObject({ status: "queued", dependsOn: [review.id] });
      expect(await store.escalationRemove({ queue: null, kind: "codex" })).toBe(true);
    });

    it("refuses a rule without a source or a destination", async () => {
      await expect(store.escalationSet({ rule: { queue: null, kind: null, after: 1, toQueue: "x", toKind: null } })).rejects.toThrow(ValidationError);
      await expect(store.escalationSet({ rule: { queue: null, kind: "a", after: 1, toQueue: null, toKind: null } })).rejects.toThrow(ValidationError);
      await expect(store.escalationSet({ rule: { queue: null, kind: "a", after: 0, toQueue: "x", toKind: null } })).rejects.toThrow(/after/);
    });
  });
}
