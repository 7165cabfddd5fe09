/** The reaper racing a completion, 1,000 times: a completed job never returns to queued. */
import { afterAll, describe, expect, it } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import { open } from "../../src/runtime/runway.js";
import { tempDir } from "../helpers/tmp.js";
import { complete } from "../store/verbs.js";
import { verdict } from "./oracle.js";
import { STORE_KINDS, faultStore } from "./stores.js";

const tmp = tempDir("rw-faults-");
afterAll(tmp.cleanup);

const ITERATIONS = 1000;

describe.each(STORE_KINDS)("reaper against completion on %s", (kind) => {
  it(`${ITERATIONS} races with random delays between the two: a completed job stays completed`, async () => {
    const s = await faultStore(kind, tmp.dir, "reap");
    // A second connection, as the reaper in another worker process has.
    const other = open({ db: s.db });
    other.on("warning", () => {});
    try {
      await s.store.queueEnsure({ queue: "reap", concurrency: null });
      const T0 = 1_700_000_000_000;
      let completedFirst = 0;
      let reapedFirst = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const [added] = await s.store.jobAddMany({ jobs: prepareJobs([{ kind: "k", queue: "reap", maxAttempts: 3 }], T0), now: T0 });
        const [c] = (await s.store.jobClaim({ workerId: "w", limit: 1, leaseMs: 10, now: T0, queues: ["reap"] })).jobs;
        const delay = () => new Promise((r) => setTimeout(r, Math.random() * 3));
        const [done, reaped] = await Promise.all([
          delay().then(() => complete(s.store, { id: added!.job.id, token: c!.token, now: T0 + 20 })),
          delay().then(() => other.store.jobReapExpired({ now: T0 + 20 })),
        ]);
        const final = (await s.store.jobGet({ id: added!.job.id }))!;
        if (done.ok) {
          completedFirst++;
          expect(final.status).toBe("completed");
          expect(reaped.requeued).not.toContain(added!.job.id);
        } else {
          reapedFirst++;
          expect(final.status).toBe("queued");
          expect(reaped.requeued).toContain(added!.job.id);
          await s.store.jobCancel({ id: added!.job.id });
        }
      }
      expect(completedFirst + reapedFirst).toBe(ITERATIONS);
      verdict(`reaper racing completions, ${kind}`, { iterations: ITERATIONS, completedFirst, reapedFirst, completedReturnedToQueue: 0 });
    } finally {
      await other.close();
      await s.close();
    }
  });
});
