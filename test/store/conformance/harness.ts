/**
 * The store conformance suite's shared set-up: a fresh, empty store per test from the factory,
 * and the helpers every area uses. `reopen` gives a second connection to the same database (as
 * another process would).
 */
import type { JobStatus } from "../../../src/core/job.js";
import { type JobSpec, prepareJobs } from "../../../src/core/spec.js";
import type { Store } from "../../../src/store/store.js";

export interface StoreHarness {
  store: Store;
  /** Another connection to the same database. */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

export const T0 = 1_700_000_000_000;

/** What each area's tests reach: the store of the running test, its harness, and helpers over them. */
export interface Conformance {
  readonly store: Store;
  readonly harness: StoreHarness;
  /** Stores a test opened besides its own, closed after it. */
  extra: Store[];
  add(spec: JobSpec, now?: number): ReturnType<typeof addJob>;
  addMany(specs: JobSpec[], now?: number): Promise<Awaited<ReturnType<typeof addJob>>[]>;
  claim(limit?: number, now?: number, opts?: { queues?: string[]; kinds?: string[]; s?: Store; leaseMs?: number }): ReturnType<typeof claimJobs>;
  status(id: string): Promise<JobStatus>;
  unlimited(queue?: string): Promise<void>;
}

async function addJob(store: Store, spec: JobSpec, now = T0) {
  const [r] = await store.jobAddMany({ jobs: prepareJobs([spec], now), now });
  return r!.job;
}

async function claimJobs(store: Store, limit = 1, now = T0, opts: { queues?: string[]; kinds?: string[]; s?: Store; leaseMs?: number } = {}) {
  const r = await (opts.s ?? store).jobClaim({
    workerId: "w1",
    limit,
    leaseMs: opts.leaseMs ?? 30_000,
    now,
    queues: opts.queues ?? null,
    kinds: opts.kinds ?? null,
  });
  return r.jobs;
}

/** Helpers bound to whichever store the running test has. */
export function conformance(current: () => StoreHarness): Conformance {
  return {
    get store() {
      return current().store;
    },
    get harness() {
      return current();
    },
    extra: [],
    add: (spec, now) => addJob(current().store, spec, now),
    addMany: async (specs, now = T0) => (await current().store.jobAddMany({ jobs: prepareJobs(specs, now), now })).map((r) => r.job),
    claim: (limit, now, opts) => claimJobs(current().store, limit, now, opts),
    status: async (id) => (await current().store.jobGet({ id }))!.status,
    unlimited: async (queue = "default") => void (await current().store.queueEnsure({ queue, concurrency: null })),
  };
}
export const LOST = "lease expired: the worker stopped heart-beating (it died, hung or lost the database)";
