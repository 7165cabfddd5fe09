import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BullmqSide } from "./bullmq-side.js";
import { collectEnvironment, fsyncLine, sideDurability } from "./environment.js";
import { type Workload, measure } from "./measure.js";
import { DEFAULT_PG_URL, PgAdmin, withSchema } from "./pg-admin.js";
import { PG_WORKLOAD_IDS, type PgSizes, type PgTable, runPgTable } from "./pg-bench.js";
import { pgJsonRecords, renderPgTable } from "./pg-report.js";
import { type Figure, type FigureDef, type RunConfig, environmentRecords, jsonRecords, renderHeader, renderTable, sideColumns } from "./report.js";
import { buildResults, defaultResultsPath, readResults, writeCharts, writeResults } from "./results.js";
import { RUNWAY_PREFETCH, RunwaySide, pgTarget, sqliteTarget } from "./runway-side.js";
import { SHELL_SIDES, SHELL_WORKLOAD_ID, type ShellSideName, type ShellTable, runShellTable } from "./shell-bench.js";
import { renderShellTable, shellJsonRecords } from "./shell-report.js";
import { SCALE_WORKLOAD_ID, type ScaleResult, type ScaleSizes, renderScale, runScale } from "./scale-bench.js";
import { STEADY_FULL, STEADY_QUICK, STEADY_SIDES, STEADY_WORKLOAD_ID, type SteadySizes, type SteadyTable, renderSteady, runSteady, steadyJsonRecords } from "./steady-bench.js";
import { CHURN_FULL, CHURN_QUICK, CHURN_WORKLOAD_ID, type ChurnResult, type ChurnSizes, churnJsonRecords, renderChurn, runChurn } from "./churn-bench.js";
import { SERVER_WORKLOAD_ID, type ServerSizes, type ServerTable, renderServerTable, runServerTable } from "./server-bench.js";
import { REMOTE_WORKLOAD_ID, type RemoteSizes, type RemoteTable, renderRemoteTable, runRemoteTable } from "./remote-bench.js";
import { PG_SIDES, type PgSideName, SQLITE_SIDES, type Side, type SqliteSideName } from "./side.js";
import { sqliteInsertCeiling } from "./sqlite-ceiling.js";
import { quantile } from "./stats.js";

const USAGE = `usage: npm run bench -- [options]

  --quick              smaller workloads, one run each (a minute or two)
  --json               also print the records as JSON lines on stdout (environment first, then each
                       table and its figures), instead of the text tables
  --runs <n>           runs per figure (default 5, --quick 1); the median is reported with the
                       range of the runs (min–max)
  --out <file>         where the results file goes (default docs/bench/results.json; with --quick
                       docs/bench/results-quick.json; a run narrowed by --only or --side adds
                       -partial: results-partial.json, results-quick-partial.json). The charts
                       are written beside it as <file name without .json>-<chart>.svg
  --charts-from <file> draw the charts again from a results file, without running anything
  --only <ids>         comma-separated workloads: single-add, bulk-add, drain-1, drain-10, drain-100, latency
                       (SQLite table), drain-24 (PostgreSQL table), shell (shell-jobs table),
                       remote (jobs on a loopback SSH target: sshd, rsync and tmux from Debian,
                       installed with apt-get when missing), server (the HTTP API with
                       100,000 jobs in the store: SQLite, and PostgreSQL when its sides run),
                       scale (runway alone: drain and claim latency with 1,000 to 1,000,000
                       waiting, 1,000 queues of 10 jobs, memory per in-flight job, runway ls and
                       the dashboard's first page with 1,000,000 jobs in the store),
                       steady (open loop: a producer at 25/50/75% of each side's max drain rate,
                       60 s each, --quick 10 s: latency p50/p99/p99.9/max and backlog; runway,
                       bullmq, runway-pg, graphile), churn (runway-pg adding and draining for
                       10 minutes, --quick 60 s, completed jobs pruned after 30 s: rate, table
                       size and dead tuples every 10 s)
  --churn-seconds <n>  how long the churn workload runs (default 600, --quick 60)
  --side <names>       comma-separated sides (default all): runway (synchronous=NORMAL, crash-safe),
                       runway-full (synchronous=FULL, power-loss-safe), bullmq (SQLite table);
                       runway-pg (synchronous_commit as the server has it, on), runway-pg-async
                       (synchronous_commit=off on its connections), graphile, pgboss (PostgreSQL
                       table; graphile brings its defaults rows, graphile-default runs those
                       alone); runway-shell, tsp (shell-jobs table); runway-remote (remote table)
  --redis-aof <p>      for this run, turn Redis's AOF on with appendfsync <p>: everysec (BullMQ
                       becomes crash-safe, beside runway) or always (power-loss-safe, beside
                       runway-full); set with CONFIG SET and put back at the end. Without it BullMQ
                       is as durable as the server is configured (appendonly no: volatile)
  --durability <d>     runway's durability on SQLite in the tables of runway alone (scale):
                       normal (default) or full; the SQLite table runs both, as runway and runway-full

Every figure is the median of the runs with their range, tagged with a durability class: volatile,
crash-safe (survives a process crash; an OS crash or power loss may take the last commits) or
power-loss-safe, read back from each store's settings. Ratios to peers are taken within a class only.
The results file ({ environment, config, tables }) is written on every run; the charts beside it are
SVG: throughput and latency per side for the SQLite/Redis and PostgreSQL tables, and, when those
tables ran, scale, steady and churn.

Redis: BENCH_REDIS_HOST (127.0.0.1), BENCH_REDIS_PORT (6379), BENCH_REDIS_DB (15; flushed before every workload).
PostgreSQL: BENCH_PG_URL (${DEFAULT_PG_URL}); the database is created if missing, and the
  schemas runway, graphile_worker and pgboss in it are dropped and made again for every workload.
task-spooler: tsp from Debian's task-spooler, installed with apt-get when missing and run as root,
  else its side is skipped; every run has its own TS_SOCKET, so no one's own tsp queue is touched.
Temporary SQLite databases go under $TMPDIR (/tmp) and are deleted as the run goes.`;

interface Sizes {
  pg: PgSizes;
  remote: RemoteSizes;
  server: ServerSizes;
  scale: ScaleSizes;
  steady: SteadySizes;
  churn: ChurnSizes;
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

// Sized for the default run, every side, five runs each, on 2 cores (about twenty minutes).
// Single adds on PostgreSQL wait for a WAL flush each, hence fewer of them.
const FULL: Sizes = {
  remote: { jobs: 20, warmup: 2, pollSamples: 30 },
  server: { jobs: 100_000, requests: 200 },
  scale: { depths: [1_000, 100_000, 1_000_000], measured: 20_000, claims: 200, queues: 1_000, perQueue: 10, inFlight: 1_000, listingJobs: 1_000_000 },
  steady: STEADY_FULL,
  churn: CHURN_FULL,
  pg: {
    single: 5_000,
    singleWarmup: 500,
    bulkBatches: 100,
    bulkWarmupBatches: 5,
    drain: 20_000,
    drainWarmup: 2_000,
    latency: 1_000,
    latencyWarmup: 100,
    pollLatency: 30,
    pollLatencyWarmup: 2,
  },
  runs: 5,
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
  remote: { jobs: 20, warmup: 2, pollSamples: 10 },
  server: { jobs: 100_000, requests: 50 },
  scale: { depths: [1_000, 100_000], measured: 5_000, claims: 50, queues: 1_000, perQueue: 10, inFlight: 1_000, listingJobs: 1_000_000 },
  steady: STEADY_QUICK,
  churn: CHURN_QUICK,
  pg: {
    single: 1_000,
    singleWarmup: 100,
    bulkBatches: 20,
    bulkWarmupBatches: 2,
    drain: 5_000,
    drainWarmup: 1_000,
    latency: 200,
    latencyWarmup: 20,
    pollLatency: 10,
    pollLatencyWarmup: 2,
  },
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

function workloads(s: Sizes): Workload<FigureDef>[] {
  // The 50,000 jobs/s target is for a worker with room to batch; one job at a time is shown beside the peer only.
  const drain = (c: number): Workload<FigureDef> => ({
    id: `drain-${c}`,
    figures: [
      {
        id: `drain-c${c}`,
        label: `drain ${s.drain.toLocaleString("en-US")} no-op jobs, concurrency ${c}`,
        unit: "jobs/s",
        better: "higher",
        ...(c > 1 ? { target: 50_000 } : {}),
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
    drain(1),
    drain(10),
    drain(100),
    {
      id: "latency",
      figures: [
        { id: "latency-p50", label: "add-to-start latency p50 (idle worker)", unit: "ms", better: "lower", target: 0.5 },
        { id: "latency-p99", label: "add-to-start latency p99 (idle worker)", unit: "ms", better: "lower", target: 2 },
        { id: "latency-p999", label: "add-to-start latency p99.9 (idle worker)", unit: "ms", better: "lower" },
      ],
      run: async (side) => {
        const samples = await side.latency(s.latency, s.latencyWarmup);
        return [quantile(samples, 50), quantile(samples, 99), quantile(samples, 99.9)];
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

function sideNamesOf(value: string | undefined): string[] {
  if (value === undefined) return [...SQLITE_SIDES, "runway-pg", "runway-pg-async", "graphile", "pgboss", ...SHELL_SIDES];
  const names = value.split(",").map((x) => x.trim()).filter(Boolean);
  const known: readonly string[] = [...SQLITE_SIDES, ...PG_SIDES, ...SHELL_SIDES, "runway-remote"];
  for (const n of names) if (!known.includes(n)) fail(`--side takes ${known.join(", ")}; got ${JSON.stringify(n)}`);
  if (names.length === 0) fail("--side needs at least one name");
  return names;
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
      out: { type: "string" },
      "redis-aof": { type: "string" },
      "charts-from": { type: "string" },
      "churn-seconds": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values["charts-from"] !== undefined) {
    const from = values["charts-from"];
    for (const path of writeCharts(from, readResults(from))) process.stderr.write(`wrote ${path}\n`);
    return;
  }
  const startedAt = new Date().toISOString();
  const sizes = { ...(values.quick ? QUICK : FULL) };
  if (values.runs !== undefined) sizes.runs = positiveInt(values.runs, "--runs");
  if (values["churn-seconds"] !== undefined) sizes.churn = { seconds: positiveInt(values["churn-seconds"], "--churn-seconds") };
  const durability = values.durability;
  if (durability !== "normal" && durability !== "full") fail(`--durability is normal or full, got ${JSON.stringify(durability)}`);
  const redisAof = values["redis-aof"];
  if (redisAof !== undefined && redisAof !== "everysec" && redisAof !== "always") fail(`--redis-aof is everysec or always, got ${JSON.stringify(redisAof)}`);
  const all = workloads(sizes);
  const only = values.only?.split(",").map((x) => x.trim()).filter(Boolean);
  for (const id of only ?? []) {
    if (!all.some((w) => w.id === id) && !PG_WORKLOAD_IDS.includes(id) && id !== SHELL_WORKLOAD_ID && id !== REMOTE_WORKLOAD_ID && id !== SERVER_WORKLOAD_ID && id !== SCALE_WORKLOAD_ID && id !== STEADY_WORKLOAD_ID && id !== CHURN_WORKLOAD_ID) fail(`unknown workload ${JSON.stringify(id)}`);
  }
  const plan = only ? all.filter((w) => only.includes(w.id)) : all;
  const sideNames = sideNamesOf(values.side);
  // A table none of whose workloads is selected needs none of its servers: --only shell runs without Redis or PostgreSQL.
  const sqliteNames = plan.length === 0 ? [] : sideNames.filter((n): n is SqliteSideName => (SQLITE_SIDES as readonly string[]).includes(n));
  const pgTableWanted = !only || only.some((id) => PG_WORKLOAD_IDS.includes(id));
  const pgWanted = pgTableWanted || [SERVER_WORKLOAD_ID, SCALE_WORKLOAD_ID, STEADY_WORKLOAD_ID, CHURN_WORKLOAD_ID].some((id) => !!only?.includes(id));
  const pgNames = !pgWanted ? [] : sideNames.filter((n): n is PgSideName => (PG_SIDES as readonly string[]).includes(n));
  const shellWanted = !only || only.includes(SHELL_WORKLOAD_ID);
  const shellNames = !shellWanted ? [] : sideNames.filter((n): n is ShellSideName => (SHELL_SIDES as readonly string[]).includes(n));

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = mkdtempSync(join(tmpdir(), "runway-bench-"));
  let bullmq: BullmqSide | null = null;
  let admin: PgAdmin | null = null;
  let restoreRedis: (() => Promise<void>) | null = null;
  try {
    if (sqliteNames.includes("bullmq")) {
      bullmq = new BullmqSide({
        host: process.env.BENCH_REDIS_HOST ?? "127.0.0.1",
        port: Number(process.env.BENCH_REDIS_PORT ?? 6379),
        db: Number(process.env.BENCH_REDIS_DB ?? 15),
      });
      try {
        await bullmq.connect();
      } catch (err) {
        throw new Error(`cannot reach Redis for the BullMQ side (${(err as Error).message}); start redis-server or leave bullmq out of --side`);
      }
      if (redisAof) {
        log(`turning Redis's AOF on with appendfsync ${redisAof} for this run…`);
        restoreRedis = await bullmq.persist(redisAof);
      }
    }
    if (pgNames.length > 0) {
      admin = new PgAdmin(process.env.BENCH_PG_URL ?? DEFAULT_PG_URL);
      try {
        await admin.connect();
      } catch (err) {
        throw new Error(
          `cannot reach PostgreSQL at ${admin.url} (${(err as Error).message}); start it (pg_ctlcluster <version> main start), set BENCH_PG_URL, or pass --side runway,bullmq`,
        );
      }
    }
    const sqliteSides: Side[] = sqliteNames.map((n) =>
      n === "runway" ? new RunwaySide("runway", sqliteTarget(dir, "normal")) : n === "runway-full" ? new RunwaySide("runway-full", sqliteTarget(dir, "full")) : bullmq!,
    );

    log("measuring disk fsync latency…");
    const env = await collectEnvironment({ dir, durability, bullmq, pg: admin, fsyncSamples: sizes.fsync });

    const figures: Figure[] = (await measure(plan, sqliteSides, sizes.runs, log)).map(({ def, bySide }) => ({
      ...def,
      values: Object.fromEntries(bySide) as Figure["values"],
    }));
    const sqliteColumns = sideColumns(env, sqliteNames);
    // What SQLite itself reaches for the rows a bulk add writes: the ceiling the bulk-add figure is read against.
    const bulk = figures.find((f) => f.id === "bulk-add")?.values.runway;
    let ceilingNote: string | null = null;
    if (bulk) {
      log("bulk-add: SQLite's own rate for the same rows");
      const c = await sqliteInsertCeiling({ dir, batches: sizes.bulkBatches, batchSize: BATCH, durability: "normal", runs: sizes.runs });
      const n = (v: number) => Math.round(v).toLocaleString("en-US");
      ceilingNote =
        `bulk add ceiling: runway's own rows inserted again by a bare prepared INSERT (better-sqlite3, transactions of ${BATCH}, synchronous=NORMAL): ` +
        `${n(c.median)} rows/s (${n(c.min)}–${n(c.max)}); runway's bulk add is ${Math.round((bulk.median / c.median) * 100)}% of it.`;
    }
    const pg: PgTable | null = admin && pgTableWanted ? await runPgTable({ admin, names: pgNames, sizes: sizes.pg, runs: sizes.runs, only, log }) : null;
    const shell: ShellTable | null = shellNames.length > 0 ? await runShellTable({ names: shellNames, runs: sizes.runs, log }) : null;
    const remoteWanted = (!only || only.includes(REMOTE_WORKLOAD_ID)) && (!values.side || sideNames.includes("runway-remote"));
    const remote: RemoteTable | null = remoteWanted ? await runRemoteTable({ sizes: sizes.remote, runs: sizes.runs, log }) : null;
    const scale: ScaleResult[] = [];
    if (!only || only.includes(SCALE_WORKLOAD_ID)) {
      let seq = 0;
      if (!values.side || sideNames.includes("runway")) {
        scale.push(await runScale({ target: sqliteTarget(dir, durability), label: "SQLite", sizes: sizes.scale, db: async () => join(dir, `mem-${++seq}.db`), log }));
      }
      if (admin && (!values.side || sideNames.includes("runway-pg"))) {
        const a = admin;
        scale.push(
          await runScale({
            target: pgTarget(a, "runway_scale"),
            label: "PostgreSQL",
            sizes: sizes.scale,
            db: async () => {
              await a.dropSchema("runway_mem");
              return withSchema(a.url, "runway_mem");
            },
            log,
          }),
        );
      }
    }
    const serverTables: ServerTable[] = [];
    if ((!only || only.includes(SERVER_WORKLOAD_ID)) && (!values.side || sideNames.includes("runway") || sideNames.includes("runway-pg"))) {
      if (!values.side || sideNames.includes("runway")) serverTables.push(await runServerTable({ sizes: sizes.server, runs: sizes.runs, log }));
      if (admin && (!values.side || sideNames.includes("runway-pg"))) {
        await admin.dropSchema("runway_server_bench");
        serverTables.push(await runServerTable({ sizes: sizes.server, runs: sizes.runs, db: withSchema(admin.url, "runway_server_bench"), log }));
        await admin.dropSchema("runway_server_bench");
      }
    }
    // Open-loop steady state and the long churn come last: they run for minutes by the clock, not by job counts.
    const steadyNames = STEADY_SIDES.filter((n) => !values.side || sideNames.includes(n));
    const steady: SteadyTable | null =
      (!only || only.includes(STEADY_WORKLOAD_ID)) && steadyNames.length > 0 ? await runSteady({ names: steadyNames, dir, durability: "normal", admin, sizes: sizes.steady, log }) : null;
    const churn: ChurnResult | null =
      (!only || only.includes(CHURN_WORKLOAD_ID)) && admin && (!values.side || sideNames.includes("runway-pg")) ? await runChurn({ admin, sizes: sizes.churn, log }) : null;

    const config: RunConfig = { mode: values.quick ? "quick" : "full", runs: sizes.runs };
    const sqliteNotes = [
      `sizes: single add ${sizes.single} (+${sizes.singleWarmup} warm-up); bulk add ${sizes.bulkBatches} × ${BATCH} (+${sizes.bulkWarmupBatches} warm-up batches); ` +
        `drain ${sizes.drain} (+ one ${sizes.drainWarmup}-job warm-up drain); latency ${sizes.latency} samples (+${sizes.latencyWarmup} warm-up).`,
      "every workload starts on a new SQLite file / a flushed Redis database; completed jobs are kept on both sides (BullMQ's default).",
      "drain: runway from worker() to the last committed completion (the worker claims at once: no start-up to leave out);",
      `       runway's queue has no limit, the worker has the given concurrency and a prefetch of ${RUNWAY_PREFETCH};`,
      "       BullMQ from worker.run() to the last 'completed' event (connecting and loading scripts, waitUntilReady, left out).",
      "latency: worker and queue concurrency 1, 2 ms idle before each add; performance.now() before the add to the handler's first line.",
      ...(ceilingNote ? [ceilingNote] : []),
    ];
    const pgColumns = pg ? sideColumns(env, pg.sides) : [];
    // The class of the store a table of runway alone ran on ("SQLite" or "PostgreSQL").
    const storeClass = (store: string, side = "runway") => sideDurability(env, store === "PostgreSQL" ? "runway-pg" : side)?.class ?? null;
    const fsyncMs = { p50: env.fsyncP50Ms, p99: env.fsyncP99Ms, samples: env.fsyncSamples };
    const records: object[] = [
      ...environmentRecords(env, config),
      ...jsonRecords(env, figures, sqliteColumns, sqliteNotes),
      ...(pg ? pgJsonRecords(env, pg.figures, pg.text, pgColumns) : []),
      ...(shell ? shellJsonRecords(env, shell) : []),
      ...(remote ? [{ type: "table", table: "remote", durability: storeClass("SQLite"), fsyncMs, ...remote }] : []),
      ...serverTables.map((t) => ({ type: "table", table: "server", durability: storeClass(t.store), fsyncMs, ...t })),
      ...scale.map((r) => ({ type: "table", table: "scale", durability: storeClass(r.store, durability === "full" ? "runway-full" : "runway"), fsyncMs, ...r })),
      ...(steady ? steadyJsonRecords(steady).map((r) => ({ ...r, fsyncMs })) : []),
      ...(churn ? churnJsonRecords(churn).map((r) => ({ ...r, fsyncMs })) : []),
    ];
    if (values.json) {
      process.stdout.write(`${records.map((r) => JSON.stringify(r)).join("\n")}\n`);
    } else {
      // Every table is printed with the disk's fsync latency under its title.
      const withFsync = (table: string[]) => [table[0]!, fsyncLine(env), ...table.slice(1)];
      const lines = renderHeader(env, config);
      if (figures.length > 0) lines.push("", ...renderTable(env, sqliteNotes, figures, sqliteColumns));
      if (pg) lines.push("", ...renderPgTable(env, pg.figures, pg.text, pgColumns));
      if (shell) lines.push("", ...renderShellTable(env, shell));
      if (remote) lines.push("", ...withFsync(renderRemoteTable(remote)));
      if (serverTables.length > 0) lines.push("", ...withFsync(renderServerTable(serverTables)));
      if (scale.length > 0) lines.push("", ...withFsync(renderScale(scale)));
      if (steady) lines.push("", ...withFsync(renderSteady(steady)));
      if (churn) lines.push("", ...withFsync(renderChurn(churn)));
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    const partial = only !== undefined || values.side !== undefined;
    const out = values.out ?? defaultResultsPath(values.quick ? "quick" : "full", partial);
    const results = buildResults(records, {
      mode: config.mode,
      runs: config.runs,
      only: only ?? null,
      sides: values.side === undefined ? null : sideNames,
      durability,
      redisAof: redisAof ?? null,
      sizes,
      argv: process.argv.slice(2),
      startedAt,
      finishedAt: new Date().toISOString(),
    });
    writeResults(out, results);
    log(`wrote ${out}`);
    for (const path of writeCharts(out, results)) log(`wrote ${path}`);
  } finally {
    await restoreRedis?.().catch((err: Error) => process.stderr.write(`could not put Redis's persistence settings back: ${err.message}\n`));
    await bullmq?.close();
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  // Tests on the same server may restart it; say so rather than leave a bare driver error.
  const restarted = /Connection terminated|terminating connection|the database system is (shutting down|starting up)/i.test(text);
  process.stderr.write(`bench failed: ${text}\n${restarted ? "(the PostgreSQL server dropped the connection, probably restarted: run again)\n" : ""}`);
  process.exit(1);
});
