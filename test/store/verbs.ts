/** Ending one attempt, as a worker's batch of one: the store's only verb for it is jobFinishMany. */
import type { FinishOutcome, Store } from "../../src/store/store.js";

type Lease = { id: string; token: number; now?: number };

async function one(store: Store, finish: Parameters<Store["jobFinishMany"]>[0]["finishes"][number], now?: number): Promise<FinishOutcome> {
  const [o] = await store.jobFinishMany({ finishes: [finish], ...(now !== undefined ? { now } : {}) });
  return o!;
}

export function complete(store: Store, p: Lease & { result?: unknown }): Promise<FinishOutcome> {
  return one(store, { id: p.id, token: p.token, outcome: "completed", result: p.result }, p.now);
}

export function fail(store: Store, p: Lease & { error: string; retryable?: boolean }): Promise<FinishOutcome> {
  const retryable = p.retryable !== undefined ? { retryable: p.retryable } : {};
  return one(store, { id: p.id, token: p.token, outcome: "failed", error: p.error, ...retryable }, p.now);
}

export function release(store: Store, p: Lease): Promise<FinishOutcome> {
  return one(store, { id: p.id, token: p.token, outcome: "released" }, p.now);
}
