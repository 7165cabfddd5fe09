/** What every command shares: the store from --db, one-line errors, the JSON shape of a job. */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { ValidationError } from "../core/errors.js";
import { type Runway, open, runwayHome } from "../runtime/runway.js";

export function openRunway(program: Command): Runway {
  const rw = open({ db: program.opts().db as string | undefined });
  // Trouble the store recovers from is worth a line on stderr, not a Node warning with a stack hint.
  rw.removeAllListeners("warning");
  rw.on("warning", ({ message }) => process.stderr.write(`runway: ${message}\n`));
  return rw;
}

/** Opens the store, runs the command, closes the store whatever happens. */
export async function withRunway<T>(program: Command, fn: (rw: Runway) => Promise<T>): Promise<T> {
  const rw = openRunway(program);
  try {
    return await fn(rw);
  } finally {
    await rw.close();
  }
}

/** A local directory given on the command line, as an absolute path; one that is not there is bad input. */
export function localDir(path: string, field: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ValidationError(field, `${path} is not a directory here`);
  return abs;
}

export function home(): string {
  return runwayHome();
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export { commandText, jobJson } from "../core/job-view.js";

/** Comma-separated ids, for --after and the like. */
export function idList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new ValidationError(name, `expected a whole number, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
