import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../core/errors.js";
import { MIGRATIONS_TABLE, loadMigrations, pendingMigrations } from "../migrations.js";

export type Durability = "normal" | "full";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

/**
 * Opens one connection with the settings every runway connection needs: WAL so readers never
 * block the writer, a busy timeout so concurrent processes wait instead of failing, and the
 * chosen synchronous level (NORMAL survives any process crash; FULL also survives power loss).
 */
export function openConnection(path: string, opts: { durability: Durability; busyTimeoutMs: number }): Database.Database {
  let fresh = false;
  if (path !== ":memory:") {
    try {
      // Jobs hold commands and environments: folders runway makes are its user's alone.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      fresh = !existsSync(path);
    } catch (err) {
      throw new StoreUnavailableError(`cannot create the folder for ${path}: ${(err as Error).message}`);
    }
  }
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: opts.busyTimeoutMs });
    // SQLite gives the -wal and -shm files the database file's mode.
    if (fresh) chmodSync(path, 0o600);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs}`);
    if (path !== ":memory:") setWal(db);
    db.pragma(`synchronous = ${opts.durability === "full" ? "FULL" : "NORMAL"}`);
  } catch (err) {
    throw new StoreUnavailableError(explainOpenError(path, err));
  }
  return db;
}

function setWal(db: Database.Database): void {
  // Switching to WAL needs a moment of exclusive access; a busy timeout does not cover it
  // while another process is opening the same file, so retry briefly.
  for (let i = 0; ; i++) {
    try {
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (mode === "wal") return;
      throw new Error(`journal_mode stayed ${String(mode)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || i > 50) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function explainOpenError(path: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === "SQLITE_NOTADB") return `${path} is not a SQLite database; point --db at a runway database file or a new path`;
  if (e.code === "SQLITE_CANTOPEN") return `cannot open ${path}: check that the folder exists and is writable`;
  if (e.code === "SQLITE_READONLY") return `${path} is read-only; runway needs to write to it`;
  return `cannot open the SQLite database ${path}: ${e.message ?? String(err)}`;
}

/** Applies the numbered migrations not yet recorded, in one IMMEDIATE transaction (see ../migrations.ts). */
export function migrate(db: Database.Database, migrations = loadMigrations(MIGRATIONS_DIR)): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = db.prepare(`SELECT version FROM ${MIGRATIONS_TABLE}`).pluck().all() as number[];
    for (const m of pendingMigrations(migrations, applied, "the database")) {
      db.exec(m.sql);
      db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, Date.now());
    }
  }).immediate();
}
