/** The reaper: expired leases, and races with completions. */
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../../src/core/errors.js";
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";
import type { StoreHarness } from "./harness.js";
import { complete, fail, release } from "../verbs.js";
import { type Conformance, LOST, T0 } from "./harness.js";

export function reaperSuite(c: Conformance): void {
  let store: Store;
  let h: StoreHarness;
  beforeEach(() => {
    store = c.store;
    h = c.harness;
  });
  const { add, addMany, claim, status, unlimited, extra } = c;

  describe("the reaper", () => {
    it("returns a job whose lease expired to the queue; the first loss is free, later ones count", async () => {
      await unlimited();
      const [a, b] = await addMany([{ kind: "k", maxAttempts: 2 }, { kind: "k", maxAttempts: 1 }]);
      await claim(2, T0, { leaseMs: 1000 });
      expect(await store.jobReapExpired({ now: T0 + 999 })).toEqual({ requeued: [], failed: [], cancelled: [] });
      const r = await store.jobReapExpired({ now: T0 + 1001 });
      expect(r).toEqual({ requeued: [a!.id, b!.id], failed: [], cancelled: [] });
      expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "queued", attempts: 0, error: LOST });
      expect((await store.jobAttempts({ id: b!.id }))[0]!.outcome).toBe("lost");
      // Lost again: now it counts, and b (one attempt allowed) has none left.
      await claim(2, T0 + 2000, { leaseMs: 1000 });
      expect(await store.jobReapExpired({ now: T0 + 3001 })).toEqual({ requeued: [a!.id], failed: [b!.id], cancelled: [] });
      expect(await store.jobGet({ id: a!.id })).toMatchObject({ status: "queued", attempts: 1 });
      expect(await store.jobGet({ id: b!.id })).toMatchObject({ status: "failed", error: LOST });
    });

    it("never undoes a completion that raced it", async () => {
      const reaper = await h.reopen();
      extra.push(reaper);
      await unlimited();
      for (let i = 0; i < 50; i++) {
        const j = await add({ kind: "k", maxAttempts: 3 });
        const [c] = await claim(1, T0, { leaseMs: 10 });
        // Both run at once from two connections; whichever commits first wins, and a completed job stays completed.
        const finishIt = () => complete(store, { id: j.id, token: c!.token, now: T0 + 20 });
        const reap = () => reaper.jobReapExpired({ now: T0 + 20 });
        // Alternate who starts first, so both orders are exercised.
        const [done, reaped] =
          i % 2 === 0
            ? await Promise.all([finishIt(), reap()])
            : await Promise.all([reap(), finishIt()]).then(([r, d]) => [d, r] as const);
        const final = (await store.jobGet({ id: j.id }))!;
        if (done.ok) {
          expect(final.status).toBe("completed");
          expect(reaped.requeued).not.toContain(j.id);
        } else {
          expect(reaped.requeued).toContain(j.id);
          expect(final.status).toBe("queued");
          await store.jobCancel({ id: j.id });
        }
      }
    });

    it("a late completion after the reaper ran changes nothing", async () => {
      const j = await add({ kind: "k", maxAttempts: 2 });
      const [c] = await claim(1, T0, { leaseMs: 10 });
      await store.jobReapExpired({ now: T0 + 11 });
      expect((await complete(store, { id: j.id, token: c!.token })).ok).toBe(false);
      expect(await status(j.id)).toBe("queued");
    });
  });
}
