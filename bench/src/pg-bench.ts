import { GRAPHILE_SCHEMA, GraphileSide } from "./graphile-side.js";
import { type Workload, measure } from "./measure.js";
import type { PgAdmin } from "./pg-admin.js";
import type { PgFigure, PgTableText } from "./pg-report.js";
import { PGBOSS_BATCH, PGBOSS_POLL_SECONDS, PGBOSS_SCHEMA, PgbossSide } from "./pgboss-side.js";
import { RUNWAY_PG_SCHEMA, RunwaySide, pgTarget, probeRunwayPg } from "./runway-side.js";
import type { PgSideName, Side } from "./side.js";
import { quantile } from "./stats.js";

export interface PgSizes {
  single: number;
  singleWarmup: number;
  bulkBatches: number;
  bulkWarmupBatches: number;
  drain: number;
  drainWarmup: number;
  latency: number;
  latencyWarmup: number;
  /** For sides that poll: each sample waits out most of a polling interval. */
  pollLatency: number;
  pollLatencyWarmup: number;
}

export const PG_CONCURRENCY = 24;
const BATCH = 1000;
const MAIN: readonly PgSideName[] = ["runway-pg", "runway-pg-async", "graphile", "pgboss"];
const DEFAULTS: readonly PgSideName[] = ["graphile-default"];

/** The workload ids --only accepts for this table. */
export const PG_WORKLOAD_IDS = ["single-add", "bulk-add", `drain-${PG_CONCURRENCY}`, "latency"];

function workloads(s: PgSizes): Workload[] {
  const n = s.drain.toLocaleString("en-US");
  const drain = (sides: readonly PgSideName[], id: string, label: string): Workload => ({
    id: `drain-${PG_CONCURRENCY}`,
    sides,
    figures: [{ id, label, unit: "jobs/s", better: "higher" }],
    warmup: (side) => side.drain(s.drainWarmup, PG_CONCURRENCY),
    run: async (side) => [await side.drain(s.drain, PG_CONCURRENCY)],
  });
  const latency = (sides: readonly PgSideName[], id: string, label: string): Workload => ({
    id: "latency",
    sides,
    figures: [
      { id: `${id}-p50`, label: `${label} p50`, unit: "ms", better: "lower" },
      { id: `${id}-p99`, label: `${label} p99`, unit: "ms", better: "lower" },
    ],
    run: async (side) => {
      const samples = side.pollIntervalMs
        ? await side.latency(s.pollLatency, s.pollLatencyWarmup)
        : await side.latency(s.latency, s.latencyWarmup);
      return [quantile(samples, 50), quantile(samples, 99)];
    },
  });
  return [
    {
      id: "single-add",
      sides: MAIN,
      figures: [{ id: "pg-single-add", label: "single add (sequential awaits)", unit: "jobs/s", better: "higher" }],
      run: async (side) => [await side.singleAdd(s.single, s.singleWarmup)],
    },
    {
      id: "bulk-add",
      sides: MAIN,
      figures: [{ id: "pg-bulk-add", label: `bulk add (batches of ${BATCH})`, unit: "jobs/s", better: "higher" }],
      run: async (side) => [await side.bulkAdd(s.bulkBatches, BATCH, s.bulkWarmupBatches)],
    },
    drain(MAIN, `pg-drain-c${PG_CONCURRENCY}`, `drain ${n} no-op jobs, concurrency ${PG_CONCURRENCY}`),
    drain(DEFAULTS, `pg-drain-c${PG_CONCURRENCY}-graphile-defaults`, `  same, graphile-worker at its defaults`),
    latency(MAIN, "pg-latency", "add-to-start latency (idle worker)"),
    latency(DEFAULTS, "pg-latency-graphile-defaults", "  same, graphile-worker at its defaults,"),
  ];
}

export interface PgTable {
  figures: PgFigure[];
  text: PgTableText;
  /** The sides that ran, in column order. */
  sides: PgSideName[];
}

/**
 * Runs the PostgreSQL table for the named sides. graphile-worker's defaults rows come with
 * "graphile"; runway-pg is left out, with a note saying why, while runway cannot open a
 * PostgreSQL URL. runway-pg-async is runway-pg with synchronous_commit=off on its own
 * connections (crash-safe), beside runway-pg at the server's setting (on: power-loss-safe),
 * which is what graphile-worker and pg-boss run with.
 */
export async function runPgTable(opts: {
  admin: PgAdmin;
  names: PgSideName[];
  sizes: PgSizes;
  runs: number;
  only: string[] | undefined;
  log: (line: string) => void;
}): Promise<PgTable> {
  const { admin, sizes } = opts;
  const notes: string[] = [];
  const sides: Side[] = [];
  const runwayNames = opts.names.filter((n) => n === "runway-pg" || n === "runway-pg-async");
  if (runwayNames.length > 0) {
    const why = await probeRunwayPg(admin);
    if (why) notes.push(`${runwayNames.join(" and ")} skipped: ${why}.`);
    else {
      if (runwayNames.includes("runway-pg")) sides.push(new RunwaySide("runway-pg", pgTarget(admin)));
      if (runwayNames.includes("runway-pg-async")) sides.push(new RunwaySide("runway-pg-async", pgTarget(admin, RUNWAY_PG_SCHEMA, { synchronousCommit: "off" })));
    }
  }
  if (opts.names.includes("graphile")) sides.push(new GraphileSide(admin, "tuned"));
  if (opts.names.includes("graphile") || opts.names.includes("graphile-default")) sides.push(new GraphileSide(admin, "default"));
  if (opts.names.includes("pgboss")) sides.push(new PgbossSide(admin));

  const plan = workloads(sizes).filter((w) => !opts.only || opts.only.includes(w.id));
  try {
    const measured = await measure(plan, sides, opts.runs, opts.log);
    const figures = measured.map(({ def, bySide }) => ({ ...def, values: Object.fromEntries(bySide) as PgFigure["values"] }));
    const configs = [
      `config       runway-pg: the server's synchronous_commit, as the peers; runway-pg async: the same store opened with ?options=-c synchronous_commit=off,`,
      `             which sets it off for runway's connections alone (read back through runway's pg driver before the table);`,
      `             graphile-worker: concurrency ${PG_CONCURRENCY}, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0, pool 25 (its performance page);`,
      `             "at its defaults": concurrency ${PG_CONCURRENCY}, pool 25, no local queue, one statement per completion;`,
      `             pg-boss: ${PG_CONCURRENCY} work() loops (its way to concurrency), batchSize ${PGBOSS_BATCH}, pollingIntervalSeconds ${PGBOSS_POLL_SECONDS} (the minimum), pool 25.`,
    ];
    notes.push(
      `sizes: single add ${sizes.single} (+${sizes.singleWarmup} warm-up); bulk add ${sizes.bulkBatches} × ${BATCH} (+${sizes.bulkWarmupBatches} warm-up batches); ` +
        `drain ${sizes.drain} (+ one ${sizes.drainWarmup}-job warm-up drain); latency ${sizes.latency} samples (+${sizes.latencyWarmup} warm-up), ` +
        `pg-boss ${sizes.pollLatency} (+${sizes.pollLatencyWarmup}): each waits out a polling interval.`,
      `every workload starts on a dropped and re-made schema (${RUNWAY_PG_SCHEMA}, ${GRAPHILE_SCHEMA}, ${PGBOSS_SCHEMA}) in ${admin.database}, made by each library's own migrations.`,
      "drain: from starting the workers (store or pool already connected) until the last completion is committed: runway-pg's last",
      "       'completed' event (emitted after the commit); for graphile-worker and pg-boss, which write completions after the handler",
      "       without awaiting them, the moment the database shows them all (graphile-worker deletes completed jobs: its table is empty).",
      "latency: worker concurrency 1, 2 ms idle before each add; performance.now() before the add to the handler's first line.",
      "       pg-boss never hears of new jobs: an idle worker finds one at its next poll, so its latency is the rest of the polling interval.",
      "published in the issue, for reference only (not measured here): graphile-worker drains ~18,700 jobs/s with p50 6 ms",
      "       (~2,500 jobs/s and p50 2.3 ms at its defaults) and bulk-adds ~42,000 jobs/s; pg-boss drains ~2,200 jobs/s with p50 ~500 ms.",
    );
    return { figures, text: { configs, notes }, sides: sides.map((x) => x.name as PgSideName) };
  } finally {
    for (const s of sides) await s.close();
  }
}
