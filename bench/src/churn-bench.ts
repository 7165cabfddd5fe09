/**
 * Churn: runway on PostgreSQL adding and draining for minutes on end, with completed jobs removed
 * once they are 30 s old. A queue table whose every job leaves dead row versions behind can slow
 * down and swell over time; this shows whether the rate holds and the table stays bounded.
 *
 * The producer runs open loop at half of runway-pg's max drain rate (its own 5 s burn-down at
 * concurrency 24, measured first on a schema of its own); the worker drains at concurrency 24;
 * every 10 s the bench records the interval's completions and the tables' sizes and row counts,
 * then calls `rw.prune({ olderThan: 30 s })` (runway has no automatic retention yet). The tables
 * are ANALYZEd once, after the first 10 s, as steady-bench.ts does after its warm-ups.
 */
import { performance } from "node:perf_hooks";
import { open } from "../../src/index.js";
import { type PgAdmin, withSchema } from "./pg-admin.js";
import { type Durability, analyzeSchema, openLoopProducer, pgDurability, runwayPgMaxDrain } from "./steady-bench.js";

export const CHURN_WORKLOAD_ID = "churn";

export interface ChurnSizes {
  /** Seconds of adding and draining (600; --quick 60; --churn-seconds). */
  seconds: number;
}

export const CHURN_FULL: ChurnSizes = { seconds: 600 };
export const CHURN_QUICK: ChurnSizes = { seconds: 60 };

const INTERVAL_S = 10;
const RETENTION_S = 30;
const CONCURRENCY = 24;
/** The offered rate as a fraction of the max drain rate. */
const LOAD = 0.5;
const SCHEMA = "runway_churn";
const QUEUE = "churn";
const KIND = "noop";

export interface ChurnInterval {
  /** Seconds since the producer started, at the end of the interval. */
  atS: number;
  /** Completions (committed) in the interval, per second. */
  jobsPerS: number;
  /** pg_total_relation_size of the jobs table (heap, indexes and TOAST). */
  tableBytes: number;
  deadTuples: number;
  liveRows: number;
  /** The same size for job_attempts. */
  attemptsBytes: number;
  /** Vacuums of the jobs table so far, runway's own and autovacuum's. */
  vacuums: number;
  /** Jobs added but not completed. */
  backlog: number;
  /** What the prune after the sample removed, and how long it took. */
  pruned: number;
  pruneMs: number;
}

export interface ChurnResult {
  store: "PostgreSQL";
  durability: Durability;
  seconds: number;
  offeredPerS: number;
  maxDrainPerS: number;
  concurrency: number;
  retentionS: number;
  intervals: ChurnInterval[];
  verdict: {
    rateHolds: boolean;
    sizeBounded: boolean;
    /** Whether the worker kept up with the producer: the last span's rate within 5% of the offered one. */
    keptUp: boolean;
    /** The stretch compared at each end: a minute, or a third of runs shorter than three. */
    spanS: number;
    firstPerS: number;
    lastPerS: number;
    /** The size the last one is held against: at the first span's end, or at 40 s if later (when retention first applies in full). */
    baseAtS: number;
    baseBytes: number;
    lastBytes: number;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface TableStats {
  tableBytes: number;
  attemptsBytes: number;
  deadTuples: number;
  liveRows: number;
  vacuums: number;
}

async function tableStats(admin: PgAdmin): Promise<TableStats> {
  const { rows } = await admin.query<{ jobs: string; attempts: string; dead: string | null; live: string | null; vacuums: string | null }>(
    `SELECT pg_total_relation_size(format('%I.%I', $1::text, 'jobs')::regclass) AS jobs,
            pg_total_relation_size(format('%I.%I', $1::text, 'job_attempts')::regclass) AS attempts,
            s.n_dead_tup AS dead, s.n_live_tup AS live, s.vacuum_count + s.autovacuum_count AS vacuums
       FROM (SELECT 1) one LEFT JOIN pg_stat_user_tables s ON s.schemaname = $1 AND s.relname = 'jobs'`,
    [SCHEMA],
  );
  const r = rows[0]!;
  return { tableBytes: Number(r.jobs), attemptsBytes: Number(r.attempts), deadTuples: Number(r.dead ?? 0), liveRows: Number(r.live ?? 0), vacuums: Number(r.vacuums ?? 0) };
}

/** Mean completions per second over the intervals ending in (from, to]. */
function rateOver(intervals: ChurnInterval[], from: number, to: number): number {
  const inside = intervals.filter((x) => x.atS > from && x.atS <= to);
  return inside.length ? inside.reduce((sum, x) => sum + x.jobsPerS, 0) / inside.length : 0;
}

export function churnVerdict(seconds: number, offeredPerS: number, intervals: ChurnInterval[]): ChurnResult["verdict"] {
  const spanS = seconds >= 3 * 60 ? 60 : Math.max(INTERVAL_S, Math.round(seconds / 3 / INTERVAL_S) * INTERVAL_S);
  const last = intervals[intervals.length - 1];
  const end = last?.atS ?? 0;
  const firstPerS = rateOver(intervals, 0, spanS);
  const lastPerS = rateOver(intervals, end - spanS, end);
  const baseAt = Math.max(spanS, RETENTION_S + INTERVAL_S);
  const base = intervals.find((x) => x.atS >= baseAt) ?? last;
  const baseBytes = base?.tableBytes ?? 0;
  const lastBytes = last?.tableBytes ?? 0;
  return {
    rateHolds: firstPerS > 0 && lastPerS >= 0.9 * firstPerS,
    sizeBounded: baseBytes > 0 && lastBytes <= 2 * baseBytes,
    keptUp: lastPerS >= 0.95 * offeredPerS,
    spanS,
    firstPerS,
    lastPerS,
    baseAtS: base?.atS ?? 0,
    baseBytes,
    lastBytes,
  };
}

export async function runChurn(p: { admin: PgAdmin; sizes: ChurnSizes; log: (line: string) => void }): Promise<ChurnResult> {
  const { admin } = p;
  const maxDrainPerS = await runwayPgMaxDrain(admin, `${SCHEMA}_burn`, CONCURRENCY, 5, (l) => p.log(l.replace(/^steady: /, "churn: ")));
  await admin.dropSchema(`${SCHEMA}_burn`);
  const rate = Math.max(1, Math.round(maxDrainPerS * LOAD));
  const total = rate * p.sizes.seconds;
  p.log(`churn: ${p.sizes.seconds} s at ${rate.toLocaleString("en-US")} jobs/s (${LOAD * 100}% of the max drain), prune of jobs older than ${RETENTION_S} s every ${INTERVAL_S} s…`);

  await admin.dropSchema(SCHEMA);
  const rw = open({ db: withSchema(admin.url, SCHEMA) });
  const intervals: ChurnInterval[] = [];
  try {
    await rw.queue(QUEUE, { concurrency: null });
    let completed = 0;
    rw.on("completed", () => completed++);
    const worker = rw.worker({ concurrency: CONCURRENCY, prefetch: 500, queues: [QUEUE], handlers: { [KIND]: async () => {} } });
    try {
      const producer = openLoopProducer(rate, total, (batch) => rw.addMany(batch.map((d) => ({ kind: KIND, queue: QUEUE, payload: d }))));
      let lastCount = 0;
      let lastAt = producer.t0;
      for (let k = 1; k * INTERVAL_S <= p.sizes.seconds; k++) {
        const mark = producer.t0 + k * INTERVAL_S * 1000;
        await Promise.race([sleep(Math.max(0, mark - performance.now())), producer.failed]);
        const now = performance.now();
        const count = completed;
        const jobsPerS = (count - lastCount) / ((now - lastAt) / 1000);
        lastCount = count;
        lastAt = now;
        const stats = await tableStats(admin);
        // A new table has no statistics until autovacuum's first look (up to a minute): the first
        // interval has given it its steady mix of rows, and it is analyzed once, now. From here on
        // it is up to autovacuum and runway's own vacuuming.
        if (k === 1) await analyzeSchema(admin, SCHEMA);
        const t = performance.now();
        const { deleted } = await rw.prune({ olderThan: RETENTION_S * 1000 });
        const pruneMs = performance.now() - t;
        const row: ChurnInterval = { atS: k * INTERVAL_S, jobsPerS, ...stats, backlog: producer.added() - count, pruned: deleted, pruneMs };
        intervals.push(row);
        p.log(
          `churn: ${row.atS} s: ${Math.round(jobsPerS).toLocaleString("en-US")} jobs/s, jobs table ${(stats.tableBytes / 2 ** 20).toFixed(1)} MB ` +
            `(${stats.liveRows.toLocaleString("en-US")} live, ${stats.deadTuples.toLocaleString("en-US")} dead, ${stats.vacuums} vacuums), ` +
            `job_attempts ${(stats.attemptsBytes / 2 ** 20).toFixed(1)} MB, backlog ${row.backlog.toLocaleString("en-US")}, pruned ${deleted.toLocaleString("en-US")} in ${Math.round(pruneMs)} ms`,
        );
      }
      await producer.done;
    } finally {
      await worker.stop({ force: true });
    }
  } finally {
    await rw.close();
    await admin.dropSchema(SCHEMA);
  }
  const verdict = churnVerdict(p.sizes.seconds, rate, intervals);
  return { store: "PostgreSQL", durability: await pgDurability(admin), seconds: p.sizes.seconds, offeredPerS: rate, maxDrainPerS, concurrency: CONCURRENCY, retentionS: RETENTION_S, intervals, verdict };
}

export function churnJsonRecords(r: ChurnResult): object[] {
  return [{ type: "table", table: "churn", ...r }];
}

export function renderChurn(r: ChurnResult): string[] {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MB`;
  const v = r.verdict;
  const lines = [
    `Churn: runway on PostgreSQL (${r.durability}) adding and draining for ${r.seconds} s`,
    `adding at ${n(r.offeredPerS)} jobs/s (open loop, half its max drain of ${n(r.maxDrainPerS)} in a 5 s burn-down), draining at concurrency ${r.concurrency};`,
    `completed jobs older than ${r.retentionS} s pruned every ${INTERVAL_S} s (rw.prune); one row per ${INTERVAL_S} s`,
    "",
  ];
  const rows: string[][] = [["at", "done/s", "jobs table", "live rows", "dead rows", "vacuums", "job_attempts", "backlog", "pruned (ms)"]];
  for (const x of r.intervals) {
    rows.push([`${x.atS} s`, n(x.jobsPerS), mb(x.tableBytes), n(x.liveRows), n(x.deadTuples), String(x.vacuums), mb(x.attemptsBytes), n(x.backlog), `${n(x.pruned)} (${n(x.pruneMs)})`]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  lines.push(...rows.map((row) => row.map((c, i) => c.padStart(i === 0 ? 0 : w[i]!).padEnd(w[i]!)).join("  ").trimEnd()));
  const span = v.spanS === 60 ? "minute" : `${v.spanS} s`;
  lines.push(
    "",
    `rate: last ${span} ${n(v.lastPerS)} jobs/s vs first ${span} ${n(v.firstPerS)} (${v.firstPerS > 0 ? ((v.lastPerS / v.firstPerS) * 100).toFixed(0) : "-"}%): ` +
      `target ≥ 90% ${v.rateHolds ? "met" : "SHORT"}`,
    `size: jobs table ${mb(v.lastBytes)} at the end vs ${mb(v.baseBytes)} at ${v.baseAtS} s: target ≤ 2× ${v.sizeBounded ? "met" : "SHORT"}`,
    v.keptUp
      ? `the worker kept up with the producer (last ${span} within 5% of the ${n(r.offeredPerS)} jobs/s offered)`
      : `the worker did NOT keep up with the producer: ${n(v.lastPerS)} of ${n(r.offeredPerS)} jobs/s offered in the last ${span}, ` +
        `${n(r.intervals[r.intervals.length - 1]?.backlog ?? 0)} jobs waiting at the end (a table that holds them all is bigger for it)`,
  );
  return lines;
}
