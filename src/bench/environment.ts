import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { open } from "../index.js";
import type { BullmqSide } from "./bullmq-side.js";
import type { PgAdmin, PgServerInfo } from "./pg-admin.js";
import { peerVersion } from "./peers.js";
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
  };
}

/**
 * What a commit survives on this server, from the settings a session in the benchmark database
 * sees. Neither graphile-worker nor pg-boss changes synchronous_commit for its own sessions.
 */
export function pgDurability(p: PgEnvironment): string {
  if (p.fsync === "off") return "fsync=off: an OS crash or power loss can corrupt the database";
  if (p.synchronousCommit === "off") {
    return `synchronous_commit=off: a commit returns before its WAL is flushed; a server crash or power loss loses the last ~3 × wal_writer_delay (${p.walWriterDelay}) of commits`;
  }
  return `synchronous_commit=${p.synchronousCommit}, fsync=on (${p.walSyncMethod}): each commit's WAL is flushed before it returns: crash-safe and power-loss-safe`;
}

/** The plain-words durability of each side, derived from the settings read back above. */
export function durabilityClasses(env: Environment): { runway: string; redis: string; postgres?: string } {
  const sync = env.runwayDurability === "full" ? "FULL" : "NORMAL";
  const runway =
    env.runwayDurability === "full"
      ? `SQLite ${env.runwayJournalMode.toUpperCase()} + synchronous=${sync}: crash-safe and power-loss-safe`
      : `SQLite ${env.runwayJournalMode.toUpperCase()} + synchronous=${sync}: crash-safe, not power-loss-safe`;
  let redis: string;
  if (env.redisAppendonly === "no" && env.redisSave === "") redis = "appendonly no, no RDB snapshots: volatile (a restart loses every job)";
  else if (env.redisAppendonly === "no") redis = `appendonly no, RDB save "${env.redisSave}": loses jobs since the last snapshot`;
  else if (env.redisAppendonly === "yes") redis = `appendonly yes, appendfsync ${env.redisAppendfsync}`;
  else redis = `appendonly ${env.redisAppendonly}, save "${env.redisSave}"`;
  return env.postgres ? { runway, redis, postgres: pgDurability(env.postgres) } : { runway, redis };
}
