import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type PostgresStore, type Runway, open } from "../../src/index.js";
import { DEFAULT_PG_URL, loadPg } from "./pg-admin.js";
import type { RunwayTarget } from "./runway-side.js";
import { RUNWAY_CLI, startServer } from "./runway-internals.js";
import { withTimeout } from "./side.js";
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
  /** Jobs in the store for the listing figures (`runway ls`, the dashboard's first page); default 1,000,000. */
  listingJobs?: number;
}

/** The listing figures' targets. */
export const LS_TARGET_MS = 1000;
export const LS_TARGET_RSS_MB = 100;
export const FIRST_PAGE_TARGET_P95_MS = 50;
/** The page size `runway ls` and GET /api/jobs use when none is asked for. */
const DEFAULT_PAGE = 50;

export interface ScaleResult {
  store: string;
  depth: { waiting: number; drainPerS: number; claimP50Ms: number }[];
  oneQueuePerS: number;
  manyQueuesPerS: number;
  memory: { inFlight: number; bytesPerJob: number };
  listing: Listing;
}

export interface Listing {
  jobs: number;
  /** `runway ls` as a child process, spawn to exit: median of the runs. */
  lsMs: number;
  /** Its peak resident set (getrusage's maxrss), the largest of the runs. */
  lsRssMb: number;
  /** GET / then GET /api/jobs (the page and its first request), sequentially: p50 and p95. */
  firstPageP50Ms: number;
  firstPageP95Ms: number;
  /** The two requests apart, p95. */
  indexP95Ms: number;
  apiJobsP95Ms: number;
  /** Evidence that both page: jobs `runway ls` printed, jobs in the API's first page and whether it offers a next one. */
  lsRows: number;
  pageJobs: number;
  pageHasNext: boolean;
  /** How long filling the store took, s. */
  fillS: number;
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

/**
 * Fills a queue with `n` jobs through rw.addMany, 5,000 per call with four calls in flight: on
 * PostgreSQL the calls overlap on the pool's connections (about 85,000 jobs/s here against
 * 50,000 one call at a time), on SQLite they run one after another anyway.
 */
async function fill(rw: Runway, queue: string | ((i: number) => string), n: number): Promise<void> {
  const queueOf = typeof queue === "string" ? () => queue : queue;
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const from = next;
      const size = Math.min(FILL_BATCH, n - from);
      next += size;
      await rw.addMany(Array.from({ length: size }, (_, k) => ({ kind: KIND, queue: queueOf(from + k), payload: { i: from + k } })));
    }
  };
  await Promise.all(Array.from({ length: FILL_LANES }, lane));
}

const FILL_BATCH = 5000;
const FILL_LANES = 4;

/**
 * PostgreSQL plans from a table's statistics, and a table filled a moment ago has none until
 * autovacuum looks (within a minute or so). The bench analyzes it at once, so that no figure
 * depends on whether autovacuum has looked yet. (Before the store found claimed and completed
 * rows by id arrays, this decided everything: 200,000 fresh jobs drained at 3,100 jobs/s before
 * an ANALYZE and 14,500 after; since then about the same either way.)
 */
export async function analyzeJobs(rw: Runway): Promise<void> {
  if (rw.store.dialect !== "postgres") return;
  const store = rw.store as PostgresStore;
  // The store shows its URL with the password masked; the bench's own URL is the same database, password and all.
  const client = new (loadPg().Client)({ connectionString: process.env.BENCH_PG_URL ?? DEFAULT_PG_URL });
  await client.connect();
  try {
    await client.query(`ANALYZE "${store.schema.replace(/"/g, '""')}".jobs`);
  } finally {
    await client.end();
  }
}

/** Time of one claim (limit 1) from the store, with `n` jobs waiting; each claimed job is then completed, untimed. */
async function claimLatency(rw: Runway, queue: string, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const { jobs } = await rw.store.jobClaim({ workerId: "probe", limit: 1, leaseMs: 60_000, queues: [queue] });
    times.push(performance.now() - t);
    if (jobs[0]) await rw.store.jobFinishMany({ finishes: [{ id: jobs[0].job.id, token: jobs[0].token, outcome: "completed" }] });
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
      const tFill = performance.now();
      await fill(rw, "deep", waiting + p.sizes.measured + p.sizes.claims);
      const fillS = (performance.now() - tFill) / 1000;
      await analyzeJobs(rw);
      p.log(`scale (${p.label}): filled in ${fillS.toFixed(1)} s (${Math.round((waiting + p.sizes.measured + p.sizes.claims) / fillS).toLocaleString("en-US")} jobs/s)`);
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
      await analyzeJobs(rw);
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
      await fill(rw, (i) => `q${i % p.sizes.queues}`, total);
      await analyzeJobs(rw);
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
  const listing = await measureListing(await p.db(), p.sizes.listingJobs ?? 1_000_000, p.log, p.label);
  return { store: p.label, depth, oneQueuePerS, manyQueuesPerS, memory: { inFlight: p.sizes.inFlight, bytesPerJob }, listing };
}

const LISTING_QUEUES = ["ingest", "render", "email", "reports", "cleanup"];

/**
 * A store as one looks after months of use: `n` jobs over five queues, 89 % completed, 1 %
 * failed and 10 % still queued. Added through rw.addMany, then claimed and ended through the
 * store's own calls, 5,000 at a time: the completions in one call each (the store's one-statement
 * path), the failures apart (the store ends those one by one, which is why they are few).
 */
async function fillListing(db: string, n: number): Promise<void> {
  const rw = open({ db });
  try {
    for (const q of LISTING_QUEUES) await rw.queue(q, { concurrency: null });
    await fill(rw, (i) => LISTING_QUEUES[i % LISTING_QUEUES.length]!, n);
    // Claims planned for an empty table on a million rows (see analyzeJobs).
    await analyzeJobs(rw);
    const ended = Math.round(n * 0.9);
    let next = 0;
    // Two at a time: on PostgreSQL they overlap (claims skip each other's rows); on SQLite they take turns.
    const lane = async () => {
      while (next < ended) {
        const size = Math.min(FILL_BATCH, ended - next);
        next += size;
        const { jobs } = await rw.store.jobClaim({ workerId: "fill", limit: size, leaseMs: 600_000 });
        // One in ninety ends failed: 1 % of the store.
        const failing = jobs.filter((_, k) => k % 90 === 0);
        const completing = jobs.filter((_, k) => k % 90 !== 0);
        await rw.store.jobFinishMany({ finishes: completing.map((c) => ({ id: c.job.id, token: c.token, outcome: "completed" as const })), returnJobs: false });
        await rw.store.jobFinishMany({ finishes: failing.map((c) => ({ id: c.job.id, token: c.token, outcome: "failed" as const, error: "boom", retryable: false })), returnJobs: false });
      }
    };
    await Promise.all([lane(), lane()]);
    // A store that has grown to a million jobs over months has its statistics.
    await analyzeJobs(rw);
  } finally {
    await rw.close();
  }
}

/** Removes the listing store: its SQLite files, or its PostgreSQL schema (named in the URL's ?schema=). */
async function dropListing(db: string): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(db)) {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
    return;
  }
  const u = new URL(db);
  const schema = u.searchParams.get("schema");
  if (!schema) return;
  u.searchParams.delete("schema");
  const client = new (loadPg().Client)({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** `runway ls` as a user runs it: a new node process, its wall time and its peak RSS (from getrusage, printed at exit). */
function runLs(db: string): Promise<{ ms: number; rssMb: number; rows: number }> {
  const atExit = `process.on("exit", () => process.stderr.write("\\nmaxrss-kb=" + process.resourceUsage().maxRSS + "\\n"));`;
  const report = `data:text/javascript,${encodeURIComponent(atExit)}`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--import", report, RUNWAY_CLI, "--db", db, "ls"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      const kb = /maxrss-kb=(\d+)/.exec(err)?.[1];
      if (code !== 0 || !kb) return reject(new Error(`runway ls exited ${code}: ${err.trim() || out.trim()}`));
      // A header line, then one line per job.
      const rows = out.split("\n").filter((l) => l.trim()).length - 1;
      resolve({ ms, rssMb: Number(kb) / 1024, rows });
    });
  });
}

async function timeRequest(url: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { ms: performance.now() - t, body };
}

async function measureListing(db: string, n: number, log: (l: string) => void, label: string): Promise<Listing> {
  const home = mkdtempSync(join(tmpdir(), "runway-bench-listing-"));
  try {
    log(`scale (${label}): filling ${n.toLocaleString("en-US")} jobs for the listing (89% completed, 1% failed, 10% queued, 5 queues)…`);
    const t0 = performance.now();
    await fillListing(db, n);
    const fillS = (performance.now() - t0) / 1000;
    log(`scale (${label}): listing store filled in ${fillS.toFixed(1)} s`);

    // The first run pays for a cold page cache and Node's compile cache; the median of five is reported.
    const ls = [];
    for (let i = 0; i < 5; i++) ls.push(await runLs(db));
    const lsMs = quantile(ls.map((r) => r.ms), 50);
    const lsRssMb = Math.max(...ls.map((r) => r.rssMb));
    const lsRows = Math.max(...ls.map((r) => r.rows));
    log(`scale (${label}): runway ls: ${Math.round(lsMs)} ms (runs: ${ls.map((r) => Math.round(r.ms)).join(", ")}), peak RSS ${lsRssMb.toFixed(0)} MB, ${lsRows} jobs printed`);

    const rw = open({ db });
    const server = await startServer({ runway: rw, home, port: 0 });
    try {
      const pages: number[] = [];
      const index: number[] = [];
      const api: number[] = [];
      let pageJobs = 0;
      let pageHasNext = false;
      // Two warm-up loads, then twenty: the page, then the job list it asks for first.
      for (let i = 0; i < 22; i++) {
        const a = await timeRequest(`${server.url}/`);
        // The request the dashboard makes first: its default order (newest first) and page size.
        const b = await timeRequest(`${server.url}/api/jobs?order=recent&limit=50`);
        const body = JSON.parse(b.body) as { jobs: unknown[]; next: string | null };
        pageJobs = body.jobs.length;
        pageHasNext = body.next !== null;
        if (i < 2) continue;
        index.push(a.ms);
        api.push(b.ms);
        pages.push(a.ms + b.ms);
      }
      const listing: Listing = {
        jobs: n,
        lsMs,
        lsRssMb,
        firstPageP50Ms: quantile(pages, 50),
        firstPageP95Ms: quantile(pages, 95),
        indexP95Ms: quantile(index, 95),
        apiJobsP95Ms: quantile(api, 95),
        lsRows,
        pageJobs,
        pageHasNext,
        fillS,
      };
      log(
        `scale (${label}): dashboard first page (GET / + GET /api/jobs): p50 ${listing.firstPageP50Ms.toFixed(1)} ms, p95 ${listing.firstPageP95Ms.toFixed(1)} ms ` +
          `(GET / p95 ${listing.indexP95Ms.toFixed(1)}, GET /api/jobs p95 ${listing.apiJobsP95Ms.toFixed(1)}); ${pageJobs} jobs in the page, next page ${pageHasNext ? "offered" : "NOT offered"}`,
      );
      return listing;
    } finally {
      await server.close();
      await rw.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    await dropListing(db);
  }
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
    if (r.listing) {
      const l = r.listing;
      const jobs = l.jobs.toLocaleString("en-US");
      const lsMet = l.lsMs < LS_TARGET_MS && l.lsRssMb < LS_TARGET_RSS_MB && l.lsRows <= DEFAULT_PAGE;
      rows.push([r.store, `runway ls, ${jobs} jobs in the store (child process)`, `${Math.round(l.lsMs).toLocaleString("en-US")} ms / ${l.lsRssMb.toFixed(0)} MB peak RSS, ${l.lsRows} jobs shown`, `< ${LS_TARGET_MS / 1000} s and < ${LS_TARGET_RSS_MB} MB`, lsMet ? "met" : "SHORT"]);
      rows.push([
        r.store,
        `dashboard first page, ${jobs} jobs (GET / + GET /api/jobs) p50 / p95`,
        `${l.firstPageP50Ms.toFixed(1)} / ${l.firstPageP95Ms.toFixed(1)} ms, ${l.pageJobs} jobs${l.pageHasNext ? " + next" : ""}`,
        `p95 ≤ ${FIRST_PAGE_TARGET_P95_MS} ms`,
        l.pageJobs > DEFAULT_PAGE ? "NOT PAGED" : l.firstPageP95Ms <= FIRST_PAGE_TARGET_P95_MS ? "met" : "SHORT",
      ]);
    }
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  lines.push(...rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()));
  if (results.some((r) => r.store === "PostgreSQL")) {
    lines.push(
      "",
      "PostgreSQL: every jobs table is ANALYZEd once filled, as autovacuum would within a minute or so, so that no figure depends on",
      "whether it has looked yet.",
    );
  }
  if (results.some((r) => r.listing)) {
    lines.push(
      "listing: a store of completed (89%), failed (1%) and queued (10%) jobs over five queues; runway ls run five times as a new node",
      "process (median time, largest peak RSS); the first page is GET / then GET /api/jobs?order=recent&limit=50 (the dashboard's first request), 20 loads after 2 warm-up ones.",
    );
  }
  return lines;
}
