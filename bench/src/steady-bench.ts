/**
 * Open-loop steady state: a producer adds jobs at a fixed rate, whatever the worker does, and
 * each job's latency is taken from the moment it was due to be added, not from the moment the
 * producer got round to it: a worker that holds the process up is charged for every job it
 * delays (no coordinated omission).
 *
 * For every side the max drain rate is found first (a 5 s burn-down of a pre-filled queue at
 * the side's concurrency); then the producer runs at 25, 50 and 75 % of it, each load on a new
 * store with the worker at the same concurrency, after a warm-up at the same rate.
 *
 * Producer and worker share one process and one event loop, as in the drain and latency
 * workloads: jobs are added in small batches on a 1 ms timer, never waiting for the worker.
 */
import { EventEmitter } from "node:events";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { type Runway, type Worker as RunwayWorker, open } from "../../src/index.js";
import { type PgAdmin, type PgPool, loadPg, withSchema } from "./pg-admin.js";
import { openGraphilePool } from "./graphile-side.js";
import { ensurePeers, loadPeer } from "./peers.js";

export const STEADY_WORKLOAD_ID = "steady";
export const STEADY_SIDES = ["runway", "bullmq", "runway-pg", "graphile"] as const;
export type SteadySideName = (typeof STEADY_SIDES)[number];

export interface SteadySizes {
  /** Seconds at each load after the warm-up (60; --quick 10). */
  loadSeconds: number;
  /** Seconds of warm-up at the same rate before each load's clock starts. */
  warmupSeconds: number;
  /** Fractions of the max drain rate. */
  loads: number[];
  /** Seconds of the burn-down that finds the max drain rate. */
  burnSeconds: number;
  /** After a load, how long jobs still waiting may take to start before they are counted as started then. */
  tailSeconds: number;
}

export const STEADY_FULL: SteadySizes = { loadSeconds: 60, warmupSeconds: 5, loads: [0.25, 0.5, 0.75], burnSeconds: 5, tailSeconds: 15 };
export const STEADY_QUICK: SteadySizes = { loadSeconds: 10, warmupSeconds: 5, loads: [0.25, 0.5, 0.75], burnSeconds: 5, tailSeconds: 10 };

export type Durability = "crash-safe" | "power-loss-safe" | "volatile";

export interface SteadyRow {
  side: SteadySideName;
  durability: Durability;
  /** Fraction of the max drain rate offered. */
  load: number;
  offeredPerS: number;
  /** Completions whose event came within the measured window, per second of it. */
  achievedPerS: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Jobs added but not started, at the end of the measured window. */
  backlogEnd: number;
  backlogGrowing: boolean;
  /** The same, a third of the way through the measured window. */
  backlogThird: number;
  maxDrainPerS: number;
  concurrency: number;
  /** Jobs of the window that had not started when the tail ran out; counted with the latency they had reached. */
  unstarted: number;
  /** How late the producer's timer fired behind its schedule, p50: a floor under every latency in the row. */
  tickLateP50Ms: number;
  /** The longest the process's event loop was held up in the window (a stall every job waiting then shares). */
  loopStallMaxMs: number;
}

export interface SteadyTable {
  sizes: SteadySizes;
  rows: SteadyRow[];
}

const QUEUE = "steady";
const KIND = "noop";
/** Every job carries its index and the time it was due to be added (performance.now() of this process). */
export interface Due {
  i: number;
  t: number;
}

/** What the harness needs of a queue: an empty store, adds, a worker, and an end. */
interface System {
  readonly side: SteadySideName;
  readonly concurrency: number;
  /** How many jobs the burn-down starts with: comfortably more than 5 s of the side's drain. */
  readonly burnJobs: number;
  durability(): Promise<Durability>;
  open(): Promise<void>;
  /** After the burn-down's fill and each warm-up: what the store needs to plan well (statistics on PostgreSQL). */
  settle(): Promise<void>;
  add(batch: Due[]): Promise<unknown>;
  /** Starts the worker; returns the time processing began (connection start-up left out). */
  start(onStart: (due: Due) => void, onDone: () => void): Promise<number>;
  /** Stops the worker and empties the store. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// runway, on a SQLite file or a PostgreSQL schema

class RunwaySystem implements System {
  private rw: Runway | null = null;
  private worker: RunwayWorker | null = null;
  private seq = 0;
  private path: string | null = null;

  constructor(
    readonly side: "runway" | "runway-pg",
    readonly concurrency: number,
    readonly burnJobs: number,
    private readonly where: { dir: string; durability: "normal" | "full" } | { admin: PgAdmin; schema: string },
  ) {}

  async durability(): Promise<Durability> {
    if ("dir" in this.where) return this.where.durability === "full" ? "power-loss-safe" : "crash-safe";
    return pgDurability(this.where.admin);
  }

  async open(): Promise<void> {
    if ("dir" in this.where) {
      this.path = join(this.where.dir, `steady-${process.pid}-${++this.seq}.db`);
      this.rw = open({ db: this.path, durability: this.where.durability });
    } else {
      await this.where.admin.dropSchema(this.where.schema);
      this.rw = open({ db: withSchema(this.where.admin.url, this.where.schema) });
    }
    await this.rw.queue(QUEUE, { concurrency: null });
  }

  async settle(): Promise<void> {
    if (!("dir" in this.where)) await analyzeSchema(this.where.admin, this.where.schema);
  }

  add(batch: Due[]): Promise<unknown> {
    return this.rw!.addMany(batch.map((d) => ({ kind: KIND, queue: QUEUE, payload: d })));
  }

  async start(onStart: (due: Due) => void, onDone: () => void): Promise<number> {
    const rw = this.rw!;
    rw.on("completed", onDone);
    // The worker claims as soon as it exists: no start-up to leave out. As in the drains: no
    // queue limit, the slots as the concurrency, 500 claimed ahead.
    const t0 = performance.now();
    this.worker = rw.worker({
      concurrency: this.concurrency,
      prefetch: 500,
      queues: [QUEUE],
      handlers: { [KIND]: async (job) => onStart(job.payload as Due) },
    });
    return t0;
  }

  async close(): Promise<void> {
    await this.worker?.stop({ force: true });
    this.worker = null;
    await this.rw?.close();
    this.rw = null;
    if ("dir" in this.where) {
      if (this.path) for (const suffix of ["", "-wal", "-shm"]) rmSync(this.path + suffix, { force: true });
      this.path = null;
    } else {
      await this.where.admin.dropSchema(this.where.schema);
    }
  }
}

/**
 * ANALYZE every table of a schema. A table filled a moment ago has no statistics until
 * autovacuum looks (within a minute or so), and a plan made without them can be far off (runway-pg
 * once drained 200,000 fresh jobs at 3,100 jobs/s before an ANALYZE and 14,500 after; its store
 * has since stopped depending on it). Done at once, for both PostgreSQL sides alike, no figure
 * depends on when autovacuum happens to look.
 */
export async function analyzeSchema(admin: PgAdmin, schema: string): Promise<void> {
  const { rows } = await admin.query<{ t: string }>("SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = $1", [schema]);
  for (const r of rows) await admin.query(`ANALYZE ${r.t}`);
}

/** What a committed job survives on this server: fsync on and synchronous_commit not off is power-loss-safe. */
export async function pgDurability(admin: PgAdmin): Promise<Durability> {
  const info = await admin.serverInfo();
  return info.fsync === "on" && info.synchronousCommit !== "off" ? "power-loss-safe" : "volatile";
}

// ---------------------------------------------------------------------------------------------
// BullMQ on Redis, loaded from bench/peers as bullmq-side.ts does

interface BullJob {
  data: unknown;
}
interface BullQueue {
  addBulk(jobs: { name: string; data: unknown }[]): Promise<unknown>;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
interface BullWorker {
  on(event: string, listener: (...args: any[]) => void): void;
  waitUntilReady(): Promise<unknown>;
  run(): Promise<void>;
  close(force?: boolean): Promise<void>;
}
interface RedisClient {
  connect(): Promise<void>;
  flushdb(): Promise<unknown>;
  config(...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

/** The same variables and defaults as the BullMQ side of the drain table. */
export function redisTargetFromEnv(env = process.env): RedisTarget {
  return { host: env.BENCH_REDIS_HOST ?? "127.0.0.1", port: Number(env.BENCH_REDIS_PORT ?? 6379), db: Number(env.BENCH_REDIS_DB ?? 15) };
}

class BullmqSystem implements System {
  readonly side = "bullmq" as const;
  private readonly lib: {
    Queue: new (name: string, opts: object) => BullQueue;
    Worker: new (name: string, processor: (job: BullJob) => Promise<void>, opts: object) => BullWorker;
  };
  private readonly admin: RedisClient;
  private readonly connection: RedisTarget & { maxRetriesPerRequest: null };
  private queue: BullQueue | null = null;
  private worker: BullWorker | null = null;
  private failure: Error | null = null;

  constructor(
    target: RedisTarget,
    readonly concurrency: number,
    readonly burnJobs: number,
  ) {
    ensurePeers(["bullmq", "ioredis"]);
    this.lib = loadPeer("bullmq");
    const { Redis } = loadPeer<{ Redis: new (opts: object) => RedisClient }>("ioredis");
    this.admin = new Redis({ ...target, lazyConnect: true });
    this.connection = { ...target, maxRetriesPerRequest: null };
  }

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
    } catch (err) {
      throw new Error(`cannot reach Redis for the BullMQ side of the steady table (${(err as Error).message}); start redis-server or leave bullmq out of --side`);
    }
  }

  /** What a restart keeps, as the server reports it: no AOF is "volatile" (RDB snapshots lose the last minutes). */
  async durability(): Promise<Durability> {
    const get = async (key: string) => {
      try {
        return ((await this.admin.config("GET", key)) as string[])[1] ?? "unknown";
      } catch {
        return "unknown";
      }
    };
    if ((await get("appendonly")) !== "yes") return "volatile";
    return (await get("appendfsync")) === "always" ? "power-loss-safe" : "crash-safe";
  }

  async open(): Promise<void> {
    await this.admin.flushdb();
    this.failure = null;
    this.queue = new this.lib.Queue(QUEUE, { connection: this.connection });
    await this.queue.waitUntilReady();
  }

  async settle(): Promise<void> {}

  add(batch: Due[]): Promise<unknown> {
    return this.queue!.addBulk(batch.map((d) => ({ name: KIND, data: d })));
  }

  async start(onStart: (due: Due) => void, onDone: () => void): Promise<number> {
    const worker = new this.lib.Worker(QUEUE, async (job) => onStart(job.data as Due), { connection: this.connection, concurrency: this.concurrency, autorun: false });
    this.worker = worker;
    worker.on("error", (err: Error) => (this.failure ??= err));
    worker.on("completed", onDone);
    // Connecting and loading the Lua scripts is start-up: left out, as in the drain.
    await worker.waitUntilReady();
    const t0 = performance.now();
    worker.run().catch((err: Error) => (this.failure ??= err));
    return t0;
  }

  async close(): Promise<void> {
    await this.worker?.close(true);
    this.worker = null;
    await this.queue?.close();
    this.queue = null;
    // A million completed jobs would otherwise stay in Redis's memory until the next flush.
    await this.admin.flushdb();
    if (this.failure) throw new Error(`BullMQ worker: ${this.failure.message}`);
  }

  async end(): Promise<void> {
    await this.admin.quit();
  }
}

// ---------------------------------------------------------------------------------------------
// graphile-worker 0.17, in the tuned configuration of graphile-side.ts (local queue 500,
// completions batched without delay, a pool of 25 opened before the clock starts)

interface GraphileUtils {
  addJobs(specs: { identifier: string; payload: unknown }[]): Promise<unknown>;
  migrate(): Promise<void>;
  release(): Promise<void>;
}
interface GraphileRunner {
  stop(): Promise<void>;
}
interface GraphileLib {
  run(options: object): Promise<GraphileRunner>;
  makeWorkerUtils(options: object): Promise<GraphileUtils>;
  Logger: new (factory: (scope: object) => (level: string, message: string) => void) => object;
}

const GRAPHILE_POOL = 25;

class GraphileSystem implements System {
  readonly side = "graphile" as const;
  private readonly lib: GraphileLib;
  private readonly logger: object;
  private utils: GraphileUtils | null = null;
  private pool: PgPool | null = null;
  private runner: GraphileRunner | null = null;

  constructor(
    private readonly admin: PgAdmin,
    private readonly schema: string,
    readonly concurrency: number,
    readonly burnJobs: number,
  ) {
    ensurePeers(["graphile-worker"]);
    // Without it every job prints a "Completed task" line.
    process.env.NO_LOG_SUCCESS ??= "1";
    this.lib = loadPeer<GraphileLib>("graphile-worker");
    this.logger = new this.lib.Logger(() => (level, message) => {
      if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
    });
  }

  durability(): Promise<Durability> {
    return pgDurability(this.admin);
  }

  async open(): Promise<void> {
    await this.admin.dropSchema(this.schema);
    this.utils = await this.lib.makeWorkerUtils({ connectionString: this.admin.url, schema: this.schema, logger: this.logger });
    await this.utils.migrate();
    this.pool = await openGraphilePool(this.admin.url, GRAPHILE_POOL);
  }

  settle(): Promise<void> {
    return analyzeSchema(this.admin, this.schema);
  }

  add(batch: Due[]): Promise<unknown> {
    return this.utils!.addJobs(batch.map((d) => ({ identifier: KIND, payload: d })));
  }

  async start(onStart: (due: Due) => void, onDone: () => void): Promise<number> {
    const events = new EventEmitter();
    // Fired once the job's function has returned; the completion itself is written in a batch
    // without being awaited, so this counts a little ahead of the commits.
    events.on("job:complete", ({ error }: { error?: unknown }) => {
      if (!error) onDone();
    });
    const t0 = performance.now();
    this.runner = await this.lib.run({
      pgPool: this.pool,
      schema: this.schema,
      logger: this.logger,
      events,
      noHandleSignals: true,
      taskList: { [KIND]: async (payload: unknown) => onStart(payload as Due) },
      preset: {
        worker: { concurrentJobs: this.concurrency, maxPoolSize: GRAPHILE_POOL, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
      },
    });
    return t0;
  }

  async close(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
    await this.pool?.end();
    this.pool = null;
    await this.utils?.release();
    this.utils = null;
    await this.admin.dropSchema(this.schema);
  }
}

// ---------------------------------------------------------------------------------------------
// The harness

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Jobs per add call at most: a producer that has fallen behind catches up in several calls. */
const MAX_BATCH = 5000;
/** Add calls in flight at most; beyond it the due jobs wait for the next tick (and their latency grows). */
const MAX_IN_FLIGHT = 16;
/** The producer's timer: each job is due at the first 1 ms tick at or after i / rate. */
const TICK_MS = 1;

/** The side's burn-down: a pre-filled queue run at its concurrency for `seconds` (or until empty). */
async function maxDrain(sys: System, seconds: number, log: (l: string) => void): Promise<number> {
  await sys.open();
  try {
    const n = sys.burnJobs;
    for (let i = 0; i < n; i += MAX_BATCH) await sys.add(Array.from({ length: Math.min(MAX_BATCH, n - i) }, (_, k) => ({ i: i + k, t: 0 })));
    await sys.settle();
    let done = 0;
    let allDone: () => void = () => {};
    const emptied = new Promise<void>((resolve) => (allDone = resolve));
    const t0 = await sys.start(
      () => {},
      () => {
        if (++done === n) allDone();
      },
    );
    await Promise.race([emptied, sleep(Math.max(0, t0 + seconds * 1000 - performance.now()))]);
    const elapsed = performance.now() - t0;
    const rate = done / (elapsed / 1000);
    log(`steady: ${sys.side}: max drain ${Math.round(rate).toLocaleString("en-US")} jobs/s (${done.toLocaleString("en-US")} of ${n.toLocaleString("en-US")} pre-filled jobs in ${(elapsed / 1000).toFixed(1)} s, concurrency ${sys.concurrency})`);
    return rate;
  } finally {
    await sys.close();
  }
}

/** runway on PostgreSQL's max drain rate at `concurrency`, as the steady table finds it: for the churn workload. */
export function runwayPgMaxDrain(admin: PgAdmin, schema: string, concurrency: number, seconds: number, log: (l: string) => void): Promise<number> {
  return maxDrain(new RunwaySystem("runway-pg", concurrency, 200_000, { admin, schema }), seconds, log);
}

export interface Producer {
  /** The time job 0 is due; job i is due at dueAt(i). */
  readonly t0: number;
  dueAt(i: number): number;
  /** Jobs whose add call has returned. */
  added(): number;
  /** Resolves when every job is added; rejects on the first failed add. */
  readonly done: Promise<void>;
  /** Rejects on the first failed add and never resolves otherwise: race it with any wait. */
  readonly failed: Promise<never>;
  /** How late each tick ran behind the oldest job it found due, ms. */
  readonly late: number[];
}

/**
 * An open-loop producer: `total` jobs at `rate` per second from 20 ms from now. Job i is due at
 * the first 1 ms tick at or after i / rate; on each tick every due job is added, in calls of up
 * to MAX_BATCH, without waiting for earlier calls (up to MAX_IN_FLIGHT of them) or any worker.
 */
export function openLoopProducer(rate: number, total: number, add: (batch: Due[]) => Promise<unknown>): Producer {
  const t0 = performance.now() + 20;
  const dueAt = (i: number) => t0 + Math.ceil((i * 1000) / rate / TICK_MS) * TICK_MS;
  let next = 0;
  let inFlight = 0;
  let added = 0;
  let failure: unknown = null;
  const late: number[] = [];
  let finished: () => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    fail = reject;
  });
  if (total === 0) finished();
  const tick = () => {
    if (failure) return;
    const now = performance.now();
    if (next < total && dueAt(next) <= now) late.push(now - dueAt(next));
    while (next < total && inFlight < MAX_IN_FLIGHT && dueAt(next) <= now) {
      const batch: Due[] = [];
      while (next < total && batch.length < MAX_BATCH && dueAt(next) <= now) {
        batch.push({ i: next, t: dueAt(next) });
        next++;
      }
      inFlight++;
      add(batch).then(
        () => {
          added += batch.length;
          inFlight--;
          if (next === total && inFlight === 0) finished();
        },
        (err: unknown) => {
          failure = err;
          fail(err);
        },
      );
    }
    if (next < total) setTimeout(tick, Math.max(0, Math.min(dueAt(next) - performance.now(), 50)));
  };
  setTimeout(tick, 20);
  const failed = done.then(() => new Promise<never>(() => {}));
  // The failure is reported by whoever awaits `done` or `failed`; this keeps it from being "unhandled" meanwhile.
  failed.catch(() => {});
  return { t0, dueAt, added: () => added, done, failed, late };
}

/** Nearest rank, as stats.ts and the store have it, on an ascending typed array. */
function rank(sorted: Float64Array, p: number): number {
  const r = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, r - 1))]!;
}

interface LoadResult {
  achievedPerS: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  backlogThird: number;
  backlogEnd: number;
  unstarted: number;
  tickLateP50Ms: number;
  loopStallMaxMs: number;
}

/** One load: the producer at `rate` for warm-up plus window, the worker running throughout. */
async function runLoad(sys: System, rate: number, sizes: SteadySizes): Promise<LoadResult> {
  const total = Math.round(rate * (sizes.warmupSeconds + sizes.loadSeconds));
  const warm = Math.round(rate * sizes.warmupSeconds);
  const latency = new Float64Array(total).fill(Number.NaN);
  let started = 0;
  let doneInWindow = 0;
  let producer: Producer | null = null;
  const winStart = () => (producer ? producer.t0 : Number.POSITIVE_INFINITY) + sizes.warmupSeconds * 1000;
  const winEnd = () => winStart() + sizes.loadSeconds * 1000;

  await sys.open();
  try {
    await sys.start(
      (d) => {
        const now = performance.now();
        // A job run twice (a lease lost) counts once, at its first start.
        if (d.i >= 0 && d.i < total && Number.isNaN(latency[d.i]!)) {
          latency[d.i] = now - d.t;
          started++;
        }
      },
      () => {
        const now = performance.now();
        if (now >= winStart() && now < winEnd()) doneInWindow++;
      },
    );

    producer = openLoopProducer(rate, total, (batch) => sys.add(batch));
    const { dueAt, late } = producer;
    const added = producer.added;

    // The backlog a third of the way in and at the end of the window.
    const backlogAt = async (at: number) => {
      await sleep(Math.max(0, at - performance.now()));
      return added() - started;
    };
    const addFailed = producer.failed;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    await Promise.race([sleep(Math.max(0, winStart() - performance.now())), addFailed]);
    // The store is new: on PostgreSQL its tables have had no statistics since they were made,
    // and plans would be made for an empty table while it grows by thousands of rows a second,
    // until autovacuum's next look (up to a minute). The warm-up has given the tables the mix of
    // rows they keep in the steady state; they are analyzed now.
    await Promise.race([sys.settle(), addFailed]);
    loop.enable();
    const backlogThird = await Promise.race([backlogAt(winStart() + (sizes.loadSeconds * 1000) / 3), addFailed]);
    const backlogEnd = await Promise.race([backlogAt(winEnd()), addFailed]);
    loop.disable();
    await producer.done;
    // Jobs of the window still waiting get the tail to start; any left are counted with the
    // latency they had reached by then, a lower bound.
    const tailEnd = performance.now() + sizes.tailSeconds * 1000;
    while (started < total && performance.now() < tailEnd) await sleep(20);
    const cut = performance.now();
    let unstarted = 0;
    const measured = new Float64Array(total - warm);
    for (let i = warm; i < total; i++) {
      let v = latency[i]!;
      if (Number.isNaN(v)) {
        v = cut - dueAt(i);
        unstarted++;
      }
      measured[i - warm] = v;
    }
    measured.sort();
    late.sort((a, b) => a - b);
    return {
      achievedPerS: doneInWindow / sizes.loadSeconds,
      p50Ms: rank(measured, 50),
      p99Ms: rank(measured, 99),
      p999Ms: rank(measured, 99.9),
      maxMs: measured[measured.length - 1]!,
      backlogThird,
      backlogEnd,
      unstarted,
      tickLateP50Ms: late.length ? late[Math.ceil(late.length / 2) - 1]! : 0,
      loopStallMaxMs: loop.max / 1e6,
    };
  } finally {
    await sys.close();
  }
}

/**
 * The backlog grew if the end's exceeds the third's by more than a quarter-second of work (or
 * 1,000 jobs, whichever is more): below that it is the producer's last batch and the worker's
 * claimed-ahead buffer coming and going.
 */
export function backlogGrew(third: number, end: number, offeredPerS: number): boolean {
  return end - third > Math.max(1000, offeredPerS / 4);
}

export async function runSteady(p: {
  names: readonly string[];
  dir: string;
  durability: "normal" | "full";
  admin: PgAdmin | null;
  redis?: RedisTarget;
  sizes: SteadySizes;
  log: (line: string) => void;
}): Promise<SteadyTable> {
  const rows: SteadyRow[] = [];
  const wanted = (n: SteadySideName) => p.names.includes(n);
  const systems: System[] = [];
  let bull: BullmqSystem | null = null;
  if (wanted("runway")) systems.push(new RunwaySystem("runway", 100, 350_000, { dir: p.dir, durability: p.durability }));
  if (wanted("bullmq")) {
    bull = new BullmqSystem(p.redis ?? redisTargetFromEnv(), 100, 150_000);
    await bull.connect();
    systems.push(bull);
  }
  if (p.admin && wanted("runway-pg")) systems.push(new RunwaySystem("runway-pg", 24, 200_000, { admin: p.admin, schema: "runway_steady" }));
  if (p.admin && wanted("graphile")) systems.push(new GraphileSystem(p.admin, "graphile_steady", 24, 250_000));
  try {
    for (const sys of systems) {
      const durability = await sys.durability();
      const max = await maxDrain(sys, p.sizes.burnSeconds, p.log);
      for (const load of p.sizes.loads) {
        const rate = Math.max(1, Math.round(max * load));
        p.log(`steady: ${sys.side}: ${Math.round(load * 100)}% = ${rate.toLocaleString("en-US")} jobs/s for ${p.sizes.warmupSeconds} + ${p.sizes.loadSeconds} s…`);
        const r = await runLoad(sys, rate, p.sizes);
        const row: SteadyRow = {
          side: sys.side,
          durability,
          load,
          offeredPerS: rate,
          achievedPerS: r.achievedPerS,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          p999Ms: r.p999Ms,
          maxMs: r.maxMs,
          backlogEnd: r.backlogEnd,
          backlogGrowing: backlogGrew(r.backlogThird, r.backlogEnd, rate),
          backlogThird: r.backlogThird,
          maxDrainPerS: max,
          concurrency: sys.concurrency,
          unstarted: r.unstarted,
          tickLateP50Ms: r.tickLateP50Ms,
          loopStallMaxMs: r.loopStallMaxMs,
        };
        rows.push(row);
        p.log(
          `steady: ${sys.side}: ${Math.round(load * 100)}%: ${Math.round(r.achievedPerS).toLocaleString("en-US")} jobs/s done, ` +
            `latency p50 ${r.p50Ms.toFixed(2)} / p99 ${r.p99Ms.toFixed(2)} / p99.9 ${r.p999Ms.toFixed(2)} / max ${r.maxMs.toFixed(1)} ms, ` +
            `backlog ${r.backlogThird} → ${r.backlogEnd}${row.backlogGrowing ? " (growing)" : ""}${r.unstarted ? `, ${r.unstarted} never started` : ""}; ` +
            `longest event-loop stall ${r.loopStallMaxMs.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    await bull?.end();
  }
  return { sizes: p.sizes, rows };
}

export function steadyJsonRecords(t: SteadyTable): object[] {
  return [{ type: "table", table: "steady", sizes: t.sizes, rows: t.rows }];
}

export function renderSteady(t: SteadyTable): string[] {
  const s = t.sizes;
  const lines = [
    "Steady state, open loop: latency and backlog with jobs added at a fixed rate, whatever the worker does",
    `a producer at ${s.loads.map((l) => `${Math.round(l * 100)}%`).join(", ")} of each side's max drain rate (a ${s.burnSeconds} s burn-down of a pre-filled queue at the same`,
    `concurrency), ${s.loadSeconds} s each after ${s.warmupSeconds} s of warm-up, each load on a new store; producer and worker in one process;`,
    "latency from the 1 ms tick each job was due at to its handler's first line, so a late producer counts against the worker;",
    "PostgreSQL tables are ANALYZEd after the burn-down's fill and at the end of each warm-up (a new table has no statistics until then)",
    "",
  ];
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const ms = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : n(x));
  const rows: string[][] = [["side", "durability", "load", "offered/s", "done/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "backlog ⅓ → end", "verdict"]];
  for (const r of t.rows) {
    const kept = r.achievedPerS >= r.offeredPerS * 0.95 && !r.backlogGrowing;
    rows.push([
      `${r.side} (c${r.concurrency})`,
      r.durability,
      `${Math.round(r.load * 100)}% of ${n(r.maxDrainPerS)}`,
      n(r.offeredPerS),
      n(r.achievedPerS),
      ms(r.p50Ms),
      ms(r.p99Ms),
      ms(r.p999Ms),
      ms(r.maxMs),
      `${n(r.backlogThird)} → ${n(r.backlogEnd)}`,
      `${kept ? "keeps up" : r.backlogGrowing ? "FALLS BEHIND (backlog growing)" : "SHORT of the offered rate"}${r.unstarted ? `, ${n(r.unstarted)} never started` : ""}`,
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  lines.push(...rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()));
  const late = t.rows.map((r) => r.tickLateP50Ms);
  if (late.length) {
    lines.push(
      "",
      `the producer's timer ran ${Math.min(...late).toFixed(2)}–${Math.max(...late).toFixed(2)} ms behind its schedule at p50 across the rows (it shares the worker's event loop:`,
      "while the worker holds the loop, due jobs wait to be added, and that wait counts in their latency).",
      "done/s: completions within the window (graphile-worker's job:complete comes just before its batched completion is committed).",
      "keeps up: done/s within 5% of offered and a backlog that did not grow by more than a quarter-second of work from a third of the way in to the end;",
      `never started: jobs of the window still waiting ${t.sizes.tailSeconds} s after it, counted with the latency they had then (a lower bound).`,
    );
  }
  return lines;
}
