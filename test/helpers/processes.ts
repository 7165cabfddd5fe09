/** Real worker processes for the multi-process tests, and the append-only log they leave behind. */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { prepareJobs } from "../../src/core/spec.js";
import type { Store } from "../../src/store/store.js";

export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
export const children: ChildProcess[] = [];

export function assertBuilt(): void {
  if (!existsSync(new URL("../../dist/index.js", import.meta.url))) {
    throw new Error("dist/ is missing: run `npm test` (it builds first) or `npm run build`");
  }
}

export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
}

export interface WorkerArgs {
  db: string;
  log: string;
  concurrency: number;
  queue: string;
  leaseMs: number;
  reaperMs: number;
  jobMs: number;
  pollMs?: number;
}

export function startWorker(a: WorkerArgs): Promise<ChildProcess> {
  const child = fork(
    join(FIXTURES, "worker-process.mjs"),
    [a.db, a.log, String(a.concurrency), a.queue, String(a.leaseMs), String(a.reaperMs), String(a.jobMs), String(a.pollMs ?? 20)],
    { stdio: ["ignore", "ignore", "inherit", "ipc"] },
  );
  children.push(child);
  return new Promise<ChildProcess>((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once("exit", (code) => r(code)));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LogLine {
  id: string;
  attempt: number;
  pid: number;
  startedAt: number;
}

export function readLog(path: string): LogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, attempt, pid, startedAt] = l.split(" ");
      return { id: id!, attempt: Number(attempt), pid: Number(pid), startedAt: Number(startedAt) };
    });
}

/** How many times each job ran, by id. */
export function runCounts(lines: LogLine[]): Map<string, number> {
  const runs = new Map<string, number>();
  for (const l of lines) runs.set(l.id, (runs.get(l.id) ?? 0) + 1);
  return runs;
}

export async function addJobs(store: Store, queue: string, n: number, payload: (i: number) => unknown = () => ({})): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < n; start += 1000) {
    const specs = Array.from({ length: Math.min(1000, n - start) }, (_, k) => ({ kind: "work", queue, payload: payload(start + k) }));
    const added = await store.jobAddMany({ jobs: prepareJobs(specs) });
    ids.push(...added.map((a) => a.job.id));
  }
  return ids;
}

/**
 * The crash oracle: every job ran, the attempts the store recorded as lost all belonged to the
 * killed worker and were recovered in time, and only those jobs ran twice (never more). Returns
 * the lost attempts for checks of the caller's own.
 */
export async function expectCrashRecovered(p: {
  store: Store;
  ids: string[];
  log: string;
  victimId: string;
  killedAt: number;
  recoverWithinMs: number;
}) {
  const runs = runCounts(readLog(p.log));
  expect(new Set(runs.keys())).toEqual(new Set(p.ids));
  const lost = (await Promise.all(p.ids.map((id) => p.store.jobAttempts({ id })))).flat().filter((a) => a.outcome === "lost");
  expect(lost.length).toBeGreaterThan(0);
  expect(lost.every((a) => a.workerId === p.victimId)).toBe(true);
  const killed = new Set(lost.map((a) => a.jobId));
  for (const [id, n] of runs) {
    // A second run is allowed only for an attempt the kill interrupted after it logged.
    if (n > 1) expect(killed.has(id), `job ${id} ran ${n} times`).toBe(true);
    expect(n).toBeLessThanOrEqual(2);
  }
  for (const a of lost) expect(a.finishedAt - p.killedAt).toBeLessThanOrEqual(p.recoverWithinMs);
  return lost;
}
