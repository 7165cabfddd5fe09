import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Runway } from "../index.js";
import type { RunwayTarget } from "./runway-side.js";
import { prefill, withTimeout } from "./side.js";
import { quantile } from "./stats.js";

export const SCALE_WORKLOAD_ID = "scale";

export interface ScaleSizes {
  depths: number[];
  /** Jobs drained (and claims timed) at each depth. */
  measured: number;
  claims: number;
  queues: number;
  perQueue: number;
  inFlight: number;
}

export interface ScaleResult {
  store: string;
  depth: { waiting: number; drainPerS: number; claimP50Ms: number }[];
  oneQueuePerS: number;
  manyQueuesPerS: number;
  memory: { inFlight: number; bytesPerJob: number };
}

const KIND = "noop";

/** Drains `n` jobs from the front of a queue at concurrency 10, however many wait behind them. */
async function drainSome(rw: Runway, queue: string, n: number, concurrency = 10): Promise<number> {
  let done = 0;
  const finished = new Promise<number>((resolve) => {
    rw.on("completed", () => {
      if (++done === n) resolve(performance.now());
    });
  });
  let started = 0;
  const t0 = performance.now();
  const w = rw.worker({
    concurrency,
    prefetch: 500,
    queues: [queue],
    handlers: {
      // Exactly n run; the rest are put back at stop (claimed ahead in the buffer, or held).
      [KIND]: async () => {
        if (++started > n) await new Promise((r) => setTimeout(r, 60_000).unref());
      },
    },
  });
  const t1 = await withTimeout(finished, 600_000, () => `scale drain: ${done} of ${n}`);
  await w.stop({ force: true });
  rw.removeAllListeners("completed");
  return n / ((t1 - t0) / 1000);
}

async function fill(rw: Runway, queue: string, n: number): Promise<void> {
  await prefill(n, (ix) => ix.map((i) => ({ kind: KIND, queue, payload: { i } })), (batch) => rw.addMany(batch));
}

/** Time of one claim (limit 1) from the store, with `n` jobs waiting; each claimed job is then completed, untimed. */
async function claimLatency(rw: Runway, queue: string, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const { jobs } = await rw.store.jobClaim({ workerId: "probe", limit: 1, leaseMs: 60_000, queues: [queue] });
    times.push(performance.now() - t);
    if (jobs[0]) await rw.store.jobComplete({ id: jobs[0].job.id, token: jobs[0].token });
  }
  return quantile(times, 50);
}

export async function runScale(p: { target: RunwayTarget; label: string; sizes: ScaleSizes; db: () => Promise<string>; log: (l: string) => void }): Promise<ScaleResult> {
  const depth: ScaleResult["depth"] = [];
  for (const waiting of p.sizes.depths) {
    const { rw, dispose } = await p.target.fresh();
    try {
      await rw.queue("deep", { concurrency: null });
      p.log(`scale (${p.label}): filling ${waiting.toLocaleString("en-US")} jobs…`);
      await fill(rw, "deep", waiting + p.sizes.measured + p.sizes.claims);
      const claimP50Ms = await claimLatency(rw, "deep", p.sizes.claims);
      const drainPerS = await drainSome(rw, "deep", p.sizes.measured);
      depth.push({ waiting, drainPerS, claimP50Ms });
      p.log(`scale (${p.label}): ${waiting.toLocaleString("en-US")} waiting: drain ${Math.round(drainPerS)} jobs/s, claim p50 ${claimP50Ms.toFixed(2)} ms`);
    } finally {
      await rw.close();
      await dispose();
    }
  }
  const total = p.sizes.queues * p.sizes.perQueue;
  let oneQueuePerS: number;
  let manyQueuesPerS: number;
  {
    const { rw, dispose } = await p.target.fresh();
    try {
      await rw.queue("one", { concurrency: null });
      await fill(rw, "one", total);
      oneQueuePerS = await drainSome(rw, "one", total, 100);
    } finally {
      await rw.close();
      await dispose();
    }
  }
  {
    const { rw, dispose } = await p.target.fresh();
    try {
      for (let q = 0; q < p.sizes.queues; q++) await rw.queue(`q${q}`, { concurrency: 1 });
      await prefill(total, (ix) => ix.map((i) => ({ kind: KIND, queue: `q${i % p.sizes.queues}`, payload: { i } })), (batch) => rw.addMany(batch));
      let done = 0;
      const finished = new Promise<number>((resolve) => rw.on("completed", () => ++done === total && resolve(performance.now())));
      const t0 = performance.now();
      const w = rw.worker({ concurrency: 100, handlers: { [KIND]: async () => {} } });
      const t1 = await withTimeout(finished, 600_000, () => `many queues: ${done} of ${total}`);
      await w.stop();
      manyQueuesPerS = total / ((t1 - t0) / 1000);
    } finally {
      await rw.close();
      await dispose();
    }
  }
  p.log(`scale (${p.label}): one queue ${Math.round(oneQueuePerS)} jobs/s, ${p.sizes.queues} queues × ${p.sizes.perQueue} ${Math.round(manyQueuesPerS)} jobs/s`);
  // Memory in a process of its own, with a collector it can call, so nothing else of the bench counts.
  const db = await p.db();
  const probe = fileURLToPath(new URL("./memory-probe.js", import.meta.url));
  const out = execFileSync(process.execPath, ["--expose-gc", probe, db, String(p.sizes.inFlight)], { encoding: "utf8", timeout: 300_000 });
  const bytesPerJob = Number(JSON.parse(out.trim().split("\n").pop()!).bytesPerJob);
  p.log(`scale (${p.label}): ${p.sizes.inFlight} jobs in flight: ${Math.round(bytesPerJob)} bytes each`);
  return { store: p.label, depth, oneQueuePerS, manyQueuesPerS, memory: { inFlight: p.sizes.inFlight, bytesPerJob } };
}

export function renderScale(results: ScaleResult[]): string[] {
  const lines = ["Scale: runway alone (no peer was measured here)", ""];
  const rows: string[][] = [["store", "figure", "value", "target", "status"]];
  for (const r of results) {
    const base = r.depth[0]!;
    for (const d of r.depth) {
      const ratio = d.drainPerS / base.drainPerS;
      rows.push([r.store, `${d.waiting.toLocaleString("en-US")} waiting: drain (c10) / claim p50`, `${Math.round(d.drainPerS).toLocaleString("en-US")} jobs/s / ${d.claimP50Ms.toFixed(2)} ms`, d === base ? "-" : "≥ 80% of the first", d === base ? "-" : `${(ratio * 100).toFixed(0)}% ${ratio >= 0.8 ? "met" : "SHORT"}`]);
    }
    const many = r.manyQueuesPerS / r.oneQueuePerS;
    rows.push([r.store, "1,000 queues × 10 jobs, each at concurrency 1 (c100)", `${Math.round(r.manyQueuesPerS).toLocaleString("en-US")} jobs/s`, "≥ 50% of one queue", `${(many * 100).toFixed(0)}% of ${Math.round(r.oneQueuePerS).toLocaleString("en-US")} ${many >= 0.5 ? "met" : "SHORT"}`]);
    rows.push([r.store, `memory per in-flight job (${r.memory.inFlight} async jobs held)`, `${Math.round(r.memory.bytesPerJob).toLocaleString("en-US")} bytes`, "≤ 2 KB", r.memory.bytesPerJob <= 2048 ? "met" : "SHORT"]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  lines.push(...rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()));
  return lines;
}
