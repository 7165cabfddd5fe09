/**
 * The fault suite's oracle: what the workers' append-only execution log says ran, against what
 * the store says happened. Nothing acknowledged is lost, nothing appears that was never added,
 * every job has exactly one committed final state, the successes equal the jobs, and every
 * duplicate execution is traced to an attempt that was killed (recorded as lost).
 */
import { type ChildProcess, fork } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Store } from "../../src/store/store.js";
import { FIXTURES, children } from "../helpers/processes.js";

export interface Execution {
  what: "start" | "done";
  id: string;
  attempt: number;
  pid: number;
  at: number;
}

export function readExecutions(path: string): Execution[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [what, id, attempt, pid, at] = l.split(" ");
      return { what: what as Execution["what"], id: id!, attempt: Number(attempt), pid: Number(pid), at: Number(at) };
    });
}

export interface Verdict {
  jobs: number;
  completed: number;
  lost: number;
  duplicates: number;
  tracedDuplicates: number;
  extra: number;
}

export async function checkOracle(p: { store: Store; ids: string[]; log: string }): Promise<Verdict> {
  const added = new Set(p.ids);
  const runs = readExecutions(p.log);
  const done = new Map<string, number>();
  for (const r of runs) {
    expect(added.has(r.id), `the log names ${r.id}, which was never added`).toBe(true);
    if (r.what === "done") done.set(r.id, (done.get(r.id) ?? 0) + 1);
  }
  const stored = await p.store.jobList({ limit: 10_000, order: "added" });
  const extra = stored.filter((j) => !added.has(j.id)).length;
  expect(extra, "jobs in the store that were never added").toBe(0);
  let completed = 0;
  let lost = 0;
  let duplicates = 0;
  let traced = 0;
  for (const id of p.ids) {
    const job = await p.store.jobGet({ id });
    expect(job, `acknowledged job ${id} is missing from the store`).not.toBeNull();
    expect(job!.status, `job ${id}`).toBe("completed");
    completed++;
    const attempts = await p.store.jobAttempts({ id });
    expect(attempts.filter((a) => a.outcome === "completed"), `job ${id}: exactly one committed final state`).toHaveLength(1);
    const killed = attempts.filter((a) => a.outcome === "lost").length;
    lost += killed;
    const n = done.get(id) ?? 0;
    expect(n, `job ${id} never ran to its end`).toBeGreaterThanOrEqual(1);
    if (n > 1) {
      duplicates += n - 1;
      // A second run is allowed only for an attempt that a kill ended after its work was done.
      expect(n - 1, `job ${id} ran ${n} times with ${killed} killed attempt(s)`).toBeLessThanOrEqual(killed);
      traced += n - 1;
    }
  }
  return { jobs: p.ids.length, completed, lost, duplicates, tracedDuplicates: traced, extra };
}

/** One line per scenario, printed and kept in test-artifacts/faults.log for RELIABILITY.md. */
export function verdict(scenario: string, figures: Record<string, string | number>): void {
  const line = `${scenario}: PASS ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(" ")}`;
  process.stdout.write(`${line}\n`);
  const dir = new URL("../../test-artifacts/", import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, "faults.log"), `${new Date().toISOString()} ${line}\n`);
}

export interface FaultWorkerArgs {
  db: string;
  log: string;
  concurrency: number;
  queue: string;
  leaseMs: number;
  reaperMs: number;
}

export function startFaultWorker(a: FaultWorkerArgs): Promise<ChildProcess> {
  const child = fork(join(FIXTURES, "fault-worker.mjs"), [a.db, a.log, String(a.concurrency), a.queue, String(a.leaseMs), String(a.reaperMs)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise<ChildProcess>((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

/** Full size with RUNWAY_FAULTS=full; otherwise a size that fits in CI's time. */
export const FULL = process.env.RUNWAY_FAULTS === "full";
