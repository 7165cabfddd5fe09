import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BullmqSide } from "./bullmq-side.js";
import { collectEnvironment } from "./environment.js";
import { type Figure, type FigureDef, type RunConfig, renderJson, renderTable } from "./report.js";
import { RunwaySide } from "./runway-side.js";
import type { Side, SideName } from "./side.js";
import { quantile, summarize } from "./stats.js";

const USAGE = `usage: npm run bench -- [options]

  --quick              smaller workloads, one run each (under a minute)
  --json               one JSON object per line (environment first, then each figure)
  --runs <n>           runs per figure (default 3, --quick 1); the median is reported
  --only <ids>         comma-separated workloads: single-add, bulk-add, drain-10, drain-100, latency
  --side <name>        runway or bullmq only (for profiling one side)
  --durability <d>     runway durability: normal (default) or full

Redis: BENCH_REDIS_HOST (127.0.0.1), BENCH_REDIS_PORT (6379), BENCH_REDIS_DB (15; flushed before every workload).
Temporary databases go under $TMPDIR (/tmp) and are deleted as the run goes.`;

interface Sizes {
  runs: number;
  single: number;
  singleWarmup: number;
  bulkBatches: number;
  bulkWarmupBatches: number;
  drain: number;
  drainWarmup: number;
  latency: number;
  latencyWarmup: number;
  fsync: number;
}

const BATCH = 1000;

// Sized so the default run, both sides, three runs each, stays within a few minutes on 2 cores.
const FULL: Sizes = {
  runs: 3,
  single: 10_000,
  singleWarmup: 1_000,
  bulkBatches: 100,
  bulkWarmupBatches: 5,
  drain: 20_000,
  drainWarmup: 2_000,
  latency: 1_000,
  latencyWarmup: 100,
  fsync: 200,
};

const QUICK: Sizes = {
  runs: 1,
  single: 2_000,
  singleWarmup: 200,
  bulkBatches: 20,
  bulkWarmupBatches: 2,
  drain: 5_000,
  drainWarmup: 1_000,
  latency: 200,
  latencyWarmup: 20,
  fsync: 50,
};

interface Workload {
  id: string;
  figures: FigureDef[];
  /** A run thrown away before the measured ones, for workloads whose own loop has no warm-up part. */
  warmup?: (side: Side) => Promise<unknown>;
  /** One value per figure, in the order of `figures`. */
  run: (side: Side) => Promise<number[]>;
}

function workloads(s: Sizes): Workload[] {
  const drain = (c: number): Workload => ({
    id: `drain-${c}`,
    figures: [
      {
        id: `drain-c${c}`,
        label: `drain ${s.drain.toLocaleString("en-US")} no-op jobs, concurrency ${c}`,
        unit: "jobs/s",
        better: "higher",
        target: 50_000,
      },
    ],
    warmup: (side) => side.drain(s.drainWarmup, c),
    run: async (side) => [await side.drain(s.drain, c)],
  });
  return [
    {
      id: "single-add",
      figures: [{ id: "single-add", label: "single add (sequential awaits)", unit: "jobs/s", better: "higher", target: 25_000 }],
      run: async (side) => [await side.singleAdd(s.single, s.singleWarmup)],
    },
    {
      id: "bulk-add",
      figures: [{ id: "bulk-add", label: `bulk add (batches of ${BATCH})`, unit: "jobs/s", better: "higher", target: 250_000 }],
      run: async (side) => [await side.bulkAdd(s.bulkBatches, BATCH, s.bulkWarmupBatches)],
    },
    drain(10),
    drain(100),
    {
      id: "latency",
      figures: [
        { id: "latency-p50", label: "add-to-start latency p50 (idle worker)", unit: "ms", better: "lower", target: 0.5 },
        { id: "latency-p99", label: "add-to-start latency p99 (idle worker)", unit: "ms", better: "lower", target: 2 },
      ],
      run: async (side) => {
        const samples = await side.latency(s.latency, s.latencyWarmup);
        return [quantile(samples, 50), quantile(samples, 99)];
      },
    },
  ];
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} takes a whole number of 1 or more, got ${JSON.stringify(text)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string" },
      side: { type: "string" },
      durability: { type: "string", default: "normal" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sizes = { ...(values.quick ? QUICK : FULL) };
  if (values.runs !== undefined) sizes.runs = positiveInt(values.runs, "--runs");
  const durability = values.durability;
  if (durability !== "normal" && durability !== "full") fail(`--durability is normal or full, got ${JSON.stringify(durability)}`);
  const all = workloads(sizes);
  const only = values.only?.split(",").map((x) => x.trim()).filter(Boolean);
  for (const id of only ?? []) if (!all.some((w) => w.id === id)) fail(`unknown workload ${JSON.stringify(id)}`);
  const plan = only ? all.filter((w) => only.includes(w.id)) : all;
  const sideNames: SideName[] = values.side === undefined ? ["runway", "bullmq"] : [values.side as SideName];
  if (!sideNames.every((n) => n === "runway" || n === "bullmq")) fail(`--side is runway or bullmq, got ${JSON.stringify(values.side)}`);

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = mkdtempSync(join(tmpdir(), "runway-bench-"));
  const runway = new RunwaySide(dir, durability);
  let bullmq: BullmqSide | null = null;
  try {
    if (sideNames.includes("bullmq")) {
      bullmq = new BullmqSide({
        host: process.env.BENCH_REDIS_HOST ?? "127.0.0.1",
        port: Number(process.env.BENCH_REDIS_PORT ?? 6379),
        db: Number(process.env.BENCH_REDIS_DB ?? 15),
      });
      try {
        await bullmq.connect();
      } catch (err) {
        throw new Error(`cannot reach Redis for the BullMQ side (${(err as Error).message}); start redis-server or pass --side runway`);
      }
    }
    const sides: Side[] = sideNames.map((n) => (n === "runway" ? runway : bullmq!));

    log("measuring disk fsync latency…");
    const env = await collectEnvironment({ dir, durability, bullmq, fsyncSamples: sizes.fsync });

    const figures: Figure[] = [];
    for (const w of plan) {
      const measured = new Map<SideName, number[][]>(sides.map((s) => [s.name, []]));
      for (const side of sides) {
        if (!w.warmup) continue;
        log(`${w.id}: ${side.name} warm-up`);
        await w.warmup(side);
      }
      for (let run = 0; run < sizes.runs; run++) {
        // Alternating which side goes first keeps slow drift (page cache, CPU clocks) from favouring one.
        const order = run % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          const v = await w.run(side);
          measured.get(side.name)!.push(v);
          const shown = v.map((x, i) => `${w.figures[i]!.unit === "ms" ? x.toFixed(3) : Math.round(x).toLocaleString("en-US")} ${w.figures[i]!.unit}`);
          log(`${w.id}: ${side.name} run ${run + 1}/${sizes.runs}: ${shown.join(", ")}`);
        }
      }
      for (const [i, def] of w.figures.entries()) {
        const of = (name: SideName) => {
          const runs = measured.get(name);
          return runs && runs.length > 0 ? summarize(runs.map((r) => r[i]!)) : null;
        };
        figures.push({ ...def, runway: of("runway"), bullmq: of("bullmq") });
      }
    }

    const config: RunConfig = {
      mode: values.quick ? "quick" : "full",
      runs: sizes.runs,
      notes: [
        `sizes: single add ${sizes.single} (+${sizes.singleWarmup} warm-up); bulk add ${sizes.bulkBatches} × ${BATCH} (+${sizes.bulkWarmupBatches} warm-up batches); ` +
          `drain ${sizes.drain} (+ one ${sizes.drainWarmup}-job warm-up drain); latency ${sizes.latency} samples (+${sizes.latencyWarmup} warm-up).`,
        "every workload starts on a new SQLite file / a flushed Redis database; completed jobs are kept on both sides (BullMQ's default).",
        "drain: runway from worker() to the last committed completion (the worker claims at once: no start-up to leave out);",
        "       BullMQ from worker.run() to the last 'completed' event (connecting and loading scripts, waitUntilReady, left out).",
        "latency: worker and queue concurrency 1, 2 ms idle before each add; performance.now() before the add to the handler's first line.",
      ],
    };
    process.stdout.write(`${values.json ? renderJson(env, config, figures) : renderTable(env, config, figures)}\n`);
  } finally {
    await runway.close();
    await bullmq?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
