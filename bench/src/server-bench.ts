import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobSpec, open } from "../../src/index.js";
import { startServer } from "./runway-internals.js";
import { type Summary, quantile, summarize } from "./stats.js";

export const SERVER_WORKLOAD_ID = "server";

export interface ServerSizes {
  jobs: number;
  requests: number;
}

export interface ServerFigure {
  id: string;
  label: string;
  target: number;
  /** p50 and p95 of each run, in ms. */
  p50: Summary;
  p95: Summary;
}

export interface ServerTable {
  store: string;
  jobs: number;
  requests: number;
  figures: ServerFigure[];
}

const QUEUES = ["ingest", "render", "email", "reports", "cleanup"];

/** Fills a store with `n` jobs over five queues, a third of them run to an end (completed or failed). */
async function fill(db: string, n: number, log: (l: string) => void): Promise<void> {
  const rw = open({ db });
  try {
    for (const q of QUEUES) await rw.queue(q, { concurrency: null });
    for (let i = 0; i < n; i += 5000) {
      const specs: JobSpec[] = Array.from({ length: Math.min(5000, n - i) }, (_, k) => ({
        kind: "work",
        queue: QUEUES[(i + k) % QUEUES.length]!,
        name: `job ${i + k}`,
        payload: { n: i + k },
      }));
      await rw.addMany(specs);
    }
    const done = Math.floor(n / 3);
    for (let i = 0; i < done; i += 1000) {
      const { jobs } = await rw.store.jobClaim({ workerId: "fill", limit: Math.min(1000, done - i), leaseMs: 60_000 });
      await rw.store.jobFinishMany({
        finishes: jobs.map((c, k) => (k % 10 === 0 ? { id: c.job.id, token: c.token, outcome: "failed" as const, error: "boom" } : { id: c.job.id, token: c.token, outcome: "completed" as const })),
        returnJobs: false,
      });
    }
    log(`server: ${n} jobs in the store, ${done} of them ended`);
  } finally {
    await rw.close();
  }
}

/** Sequential requests against the server, as a dashboard polls it: per-request latency, ms. */
async function latencies(url: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    // The first ten warm the caches and the JIT; they are not counted.
    if (i >= 10) times.push(performance.now() - t);
  }
  return times;
}

export async function runServerTable(p: { sizes: ServerSizes; runs: number; db?: string; log: (line: string) => void }): Promise<ServerTable> {
  const dir = mkdtempSync(join(tmpdir(), "runway-bench-server-"));
  const db = p.db ?? join(dir, "runway.db");
  try {
    await fill(db, p.sizes.jobs, p.log);
    const rw = open({ db });
    const server = await startServer({ runway: rw, home: join(dir, "home"), port: 0 });
    try {
      const defs = [
        { id: "jobs-page", label: "job list, first page (50 jobs)", path: "/api/jobs?limit=50", target: 50 },
        { id: "jobs-filtered", label: "job list, one queue's failed jobs", path: "/api/jobs?limit=50&queue=render&status=failed", target: 50 },
        { id: "queue-counts", label: "queue counts (/api/queues)", path: "/api/queues", target: 50 },
        { id: "metrics", label: "/metrics", path: "/metrics", target: 100 },
      ];
      const figures: ServerFigure[] = [];
      for (const d of defs) {
        const p50: number[] = [];
        const p95: number[] = [];
        for (let r = 0; r < p.runs; r++) {
          const t = await latencies(`${server.url}${d.path}`, p.sizes.requests);
          p50.push(quantile(t, 50));
          p95.push(quantile(t, 95));
        }
        figures.push({ id: d.id, label: d.label, target: d.target, p50: summarize(p50), p95: summarize(p95) });
        p.log(`server: ${d.label}: p95 ${quantile(p95, 50).toFixed(1)} ms`);
      }
      return { store: rw.store.dialect === "sqlite" ? "SQLite" : "PostgreSQL", jobs: p.sizes.jobs, requests: p.sizes.requests, figures };
    } finally {
      await server.close();
      await rw.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderServerTable(tables: ServerTable[]): string[] {
  const ms = (s: Summary) => (s.runs.length === 1 ? s.median.toFixed(1) : `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`);
  const lines = [
    `HTTP API with ${tables[0]?.jobs.toLocaleString("en-US")} jobs in the store (${tables[0]?.requests} sequential requests per figure after 10 warm-up ones)`,
    "",
  ];
  const rows: string[][] = [["store", "request", "p50 ms", "p95 ms", "target p95", "status"]];
  for (const t of tables) {
    for (const f of t.figures) rows.push([t.store, f.label, ms(f.p50), ms(f.p95), `≤ ${f.target} ms`, f.p95.median <= f.target ? "met" : "SHORT"]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push(...rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()));
  return lines;
}
