import { spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { open } from "../../src/index.js";
import type { BullmqSide } from "./bullmq-side.js";
import type { PgAdmin, PgServerInfo } from "./pg-admin.js";
import { pgAsyncUrl } from "./runway-side.js";
import { peerVersion } from "./peers.js";
import { REPO_ROOT } from "./repo.js";
import { quantile } from "./stats.js";

export interface Environment {
  node: string;
  cpu: string;
  cores: number;
  sqlite: string;
  betterSqlite3: string;
  bullmq: string;
  ioredis: string;
  redis: string;
  /** What a runway database actually ends up with, read back from the file. */
  runwayJournalMode: string;
  runwayDurability: string;
  redisAppendonly: string;
  redisAppendfsync: string;
  redisSave: string;
  /** task-spooler's version, or "not installed": the shell table's peer. */
  tsp: string;
  runwayVersion: string;
  fsyncP50Ms: number;
  fsyncP99Ms: number;
  fsyncSamples: number;
  dir: string;
  /** Present when a PostgreSQL side ran. */
  postgres: PgEnvironment | null;
}

export interface PgEnvironment extends PgServerInfo {
  /** The URL the benchmark used, without any password. */
  url: string;
  graphileWorker: string;
  pgBoss: string;
  pg: string;
  /**
   * synchronous_commit as a session of runway-pg-async reads it back, through runway's own pg
   * driver and the URL runway-pg-async opens its store with.
   */
  asyncSynchronousCommit: string;
}

const require = createRequire(import.meta.url);

/** Walks up from the package's entry point, since not every package exports its package.json. */
function packageVersion(name: string): string {
  try {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      } catch {
        // No package.json at this level; keep walking up.
      }
    }
  } catch {
    // Not installed: reported as unknown below.
  }
  return "unknown";
}

/**
 * 4 KiB written in place and flushed with fdatasync, like a commit that must reach the disk.
 * This is the floor under anything that syncs per commit (runway with durability "full"); with
 * WAL and synchronous=NORMAL runway only syncs at checkpoints, so this bounds nothing there.
 */
export function measureFsync(dir: string, samples: number): number[] {
  const path = join(dir, `fsync-${process.pid}.bin`);
  const block = Buffer.alloc(4096, 0xa5);
  const fd = openSync(path, "w");
  const out: number[] = [];
  try {
    for (let i = 0; i < samples + 10; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, 0);
      fdatasyncSync(fd);
      // The first few include allocating the block on disk.
      if (i >= 10) out.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return out;
}

async function runwayJournalMode(dir: string, durability: string): Promise<string> {
  const path = join(dir, `probe-${process.pid}.db`);
  const rw = open({ db: path, durability: durability as "normal" | "full" });
  try {
    await rw.queue("probe");
    const db = new Database(path, { readonly: true });
    try {
      return String(db.pragma("journal_mode", { simple: true }));
    } finally {
      db.close();
    }
  } finally {
    await rw.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  }
}

export async function collectEnvironment(opts: {
  dir: string;
  durability: string;
  bullmq: BullmqSide | null;
  pg: PgAdmin | null;
  fsyncSamples: number;
}): Promise<Environment> {
  const mem = new Database(":memory:");
  const sqlite = String(mem.prepare("SELECT sqlite_version()").pluck().get());
  mem.close();
  const redis = opts.bullmq ? await opts.bullmq.serverInfo() : { version: "not used", appendonly: "-", appendfsync: "-", save: "-" };
  const fsync = measureFsync(opts.dir, opts.fsyncSamples);
  return {
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    sqlite,
    betterSqlite3: packageVersion("better-sqlite3"),
    bullmq: peerVersion("bullmq"),
    ioredis: peerVersion("ioredis"),
    redis: redis.version,
    runwayJournalMode: await runwayJournalMode(opts.dir, opts.durability),
    runwayDurability: opts.durability,
    redisAppendonly: redis.appendonly,
    redisAppendfsync: redis.appendfsync,
    redisSave: redis.save,
    tsp: tspVersion(),
    runwayVersion: runwayVersion(),
    fsyncP50Ms: quantile(fsync, 50),
    fsyncP99Ms: quantile(fsync, 99),
    fsyncSamples: fsync.length,
    dir: opts.dir,
    postgres: opts.pg ? await collectPgEnvironment(opts.pg) : null,
  };
}

async function collectPgEnvironment(admin: PgAdmin): Promise<PgEnvironment> {
  const u = new URL(admin.url);
  if (u.password) u.password = "****";
  return {
    url: u.toString(),
    ...(await admin.serverInfo()),
    graphileWorker: peerVersion("graphile-worker"),
    pgBoss: peerVersion("pg-boss"),
    pg: peerVersion("pg"),
    asyncSynchronousCommit: await readBackSynchronousCommit(pgAsyncUrl(admin.url)),
  };
}

/** With a socket of its own that never exists, so no one's tsp server is started or asked. */
function tspVersion(): string {
  const r = spawnSync("tsp", ["-V"], { encoding: "utf8", timeout: 5000, env: { ...process.env, TS_SOCKET: "/nonexistent/runway-bench-tsp-version" } });
  if (r.error) return "not installed";
  return /v(\d[\w.+-]*)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "unknown";
}

function runwayVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Opened with runway's own pg (not the peers' copy), the driver its store hands the URL to: the
 * `options` parameter must reach the server through it, and this shows that it does.
 */
async function readBackSynchronousCommit(url: string): Promise<string> {
  type Client = { connect(): Promise<void>; query(sql: string): Promise<{ rows: Record<string, unknown>[] }>; end(): Promise<void> };
  const pg = require("pg") as { Client: new (opts: { connectionString: string }) => Client };
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    const { rows } = await c.query("SHOW synchronous_commit");
    return String(Object.values(rows[0] ?? {})[0] ?? "unknown");
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * What an acknowledged job survives, in three classes:
 * - volatile: a crash of the process that holds the queue loses jobs;
 * - crash-safe: survives a crash of any process, though an OS crash or power loss may take the
 *   last moments of commits (the caveat says how much, and where a server crash counts too);
 * - power-loss-safe: every acknowledged job was flushed to the disk first.
 * Ratios to peers are only ever taken within one class.
 */
export const DURABILITY_CLASSES = ["volatile", "crash-safe", "power-loss-safe"] as const;
export type DurabilityClass = (typeof DURABILITY_CLASSES)[number];

export interface Durability {
  class: DurabilityClass;
  /** The settings it follows from, as read back. */
  setting: string;
  /** What the class leaves unsaid, when anything. */
  caveat?: string;
}

export function sqliteDurability(journalMode: string, sync: "normal" | "full"): Durability {
  const setting = `SQLite journal_mode=${journalMode.toUpperCase()}, synchronous=${sync.toUpperCase()}`;
  if (sync === "full") return { class: "power-loss-safe", setting };
  return {
    class: "crash-safe",
    setting,
    caveat: "the WAL is synced at checkpoints only: a crash of runway's process loses nothing, an OS crash or power loss may lose the last commits",
  };
}

export function redisDurability(env: Pick<Environment, "redisAppendonly" | "redisAppendfsync" | "redisSave">): Durability {
  const { redisAppendonly: aof, redisAppendfsync: fsync, redisSave: save } = env;
  const setting = `Redis appendonly ${aof}${aof === "yes" ? `, appendfsync ${fsync}` : ""}, save "${save}"`;
  if (aof === "yes" && fsync === "always") return { class: "power-loss-safe", setting };
  if (aof === "yes" && fsync === "everysec") {
    return {
      class: "crash-safe",
      setting,
      caveat:
        "appendfsync everysec: the AOF is fsynced once a second, so an OS crash or power loss loses up to ~1 s of acknowledged jobs; " +
        "and while a background fsync is slow Redis holds its AOF write back for up to 2 s, so even a crash of redis-server alone can lose that much",
    };
  }
  if (aof === "yes" && fsync === "no") {
    return { class: "crash-safe", setting, caveat: "appendfsync no: the OS flushes the AOF when it likes (about every 30 s on Linux): an OS crash or power loss loses that much" };
  }
  if (aof === "no") {
    return {
      class: "volatile",
      setting,
      caveat: save === "" ? "nothing on disk: a restart of redis-server loses every job" : "RDB snapshots only: a crash of redis-server loses every job since the last snapshot",
    };
  }
  return { class: "volatile", setting, caveat: "the persistence settings could not be read (CONFIG GET refused): taken as volatile" };
}

export function pgDurabilityOf(p: Pick<PgEnvironment, "fsync" | "walWriterDelay" | "walSyncMethod">, synchronousCommit: string): Durability {
  const setting = `PostgreSQL synchronous_commit=${synchronousCommit}, fsync=${p.fsync}`;
  if (p.fsync === "off") {
    return { class: "crash-safe", setting, caveat: "fsync=off: an OS crash or power loss can corrupt the whole database" };
  }
  if (synchronousCommit === "off") {
    return {
      class: "crash-safe",
      setting,
      caveat:
        `synchronous_commit=off: a commit returns before its WAL is flushed; a crash of the application loses nothing, ` +
        `a crash of the PostgreSQL server, an OS crash or power loss loses up to 3 × wal_writer_delay (${p.walWriterDelay}) of commits`,
    };
  }
  if (["on", "local", "remote_write", "remote_apply"].includes(synchronousCommit)) {
    return { class: "power-loss-safe", setting: `${setting} (${p.walSyncMethod})` };
  }
  return { class: "crash-safe", setting, caveat: `synchronous_commit=${synchronousCommit} is not one this benchmark knows: taken as crash-safe at best` };
}

/** The class of each side the benchmark knows, from the settings read back; null for a side of unknown store. */
export function sideDurability(env: Environment, side: string): Durability | null {
  switch (side) {
    case "runway":
    case "runway-shell":
    case "runway-remote":
      return sqliteDurability(env.runwayJournalMode, "normal");
    case "runway-full":
      return sqliteDurability(env.runwayJournalMode, "full");
    case "bullmq":
      return redisDurability(env);
    case "tsp":
      return { class: "volatile", setting: "task-spooler keeps its queue in its server process's memory", caveat: "a crash of the tsp server loses every queued job" };
    case "runway-pg":
    case "graphile":
    case "graphile-default":
    case "pgboss":
      return env.postgres ? pgDurabilityOf(env.postgres, env.postgres.synchronousCommit) : null;
    case "runway-pg-async":
      return env.postgres ? pgDurabilityOf(env.postgres, env.postgres.asyncSynchronousCommit) : null;
    default:
      return null;
  }
}

/** One line per class, for a table's heading: "power-loss-safe: runway-full (SQLite ...)". */
export function durabilityLine(d: Durability): string {
  return `${d.class}: ${d.setting}${d.caveat ? `; ${d.caveat}` : ""}`;
}

/** Kept for the tables that print one line per store. */
export function pgDurability(p: PgEnvironment): string {
  return durabilityLine(pgDurabilityOf(p, p.synchronousCommit));
}

/** The plain-words durability of each store, derived from the settings read back above. */
export function durabilityClasses(env: Environment): { runway: string; runwayFull: string; redis: string; postgres?: string; postgresAsync?: string } {
  const line = (side: string) => durabilityLine(sideDurability(env, side)!);
  const base = { runway: line("runway"), runwayFull: line("runway-full"), redis: line("bullmq") };
  return env.postgres ? { ...base, postgres: line("runway-pg"), postgresAsync: line("runway-pg-async") } : base;
}

/** Every version the benchmark reads, under one key each. */
export function versions(env: Environment): Record<string, string> {
  return {
    runway: env.runwayVersion,
    node: env.node,
    sqlite: env.sqlite,
    "better-sqlite3": env.betterSqlite3,
    redis: env.redis,
    bullmq: env.bullmq,
    ioredis: env.ioredis,
    postgresql: env.postgres?.version ?? "not used",
    "graphile-worker": env.postgres?.graphileWorker ?? peerVersion("graphile-worker"),
    "pg-boss": env.postgres?.pgBoss ?? peerVersion("pg-boss"),
    pg: env.postgres?.pg ?? peerVersion("pg"),
    tsp: env.tsp,
  };
}

/** The disk's flush latency, printed with every table: the floor under any per-commit sync. */
export function fsyncLine(env: Environment): string {
  return `disk fsync (4 KiB write + fdatasync under ${env.dir}): p50 ${env.fsyncP50Ms.toFixed(3)} ms, p99 ${env.fsyncP99Ms.toFixed(3)} ms (${env.fsyncSamples} samples)`;
}
