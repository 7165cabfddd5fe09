/**
 * One migration runner for both stores. Migrations are numbered SQL files, the same numbers in
 * both dialects; each store runs this inside its own transaction and lock (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: an advisory lock named after the schema), so when many processes open a
 * new database at once exactly one of them migrates and the rest see the result.
 */
import { readFileSync, readdirSync } from "node:fs";
import { StoreUnavailableError } from "../core/errors.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS_TABLE = "schema_migrations";

export function loadMigrations(dir: string, rewrite: (sql: string) => string = (sql) => sql): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.*\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ""), sql: rewrite(readFileSync(dir + f, "utf8")) }));
}

/** The migrations to run, in order; a database migrated by a newer runway is refused, untouched. */
export function pendingMigrations(all: readonly Migration[], applied: readonly number[], what: string): Migration[] {
  const done = new Set(applied);
  const newest = Math.max(0, ...done);
  const known = Math.max(0, ...all.map((m) => m.version));
  if (newest > known) {
    throw new StoreUnavailableError(`${what} was migrated by a newer runway (schema ${newest}, this one knows up to ${known}); upgrade runway`);
  }
  return all.filter((m) => !done.has(m.version));
}
