/** What every command shares: the store from --db, one-line errors, the JSON shape of a job. */
import type { Command } from "commander";
import { ValidationError } from "../core/errors.js";
import type { Job } from "../core/job.js";
import { type Runway, open } from "../runtime/runway.js";
import { runwayHome } from "../store/open-store.js";

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

export function home(): string {
  return runwayHome();
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface ShellishPayload {
  command?: string[] | null;
  shell?: string | null;
  cwd?: string;
  env?: Record<string, string> | null;
}

/** The command a job runs, for people: argv joined with quotes where needed, or the shell line. */
export function commandText(job: Job): string | null {
  const p = (job.payload ?? {}) as ShellishPayload;
  if (typeof p.shell === "string") return p.shell;
  if (Array.isArray(p.command)) return p.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
  return null;
}

/** The JSON of a job, with the field names the CLI promises (`ls --json`, `show --json`, `add --json`). */
export function jobJson(job: Job, opts: { env?: boolean } = {}) {
  const p = (job.payload ?? {}) as ShellishPayload;
  const shell = job.kind === "shell";
  return {
    id: job.id,
    queue: job.queue,
    kind: job.kind,
    status: job.status,
    priority: job.priority,
    position: job.position,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    exitCode: job.exitCode,
    error: job.error,
    reason: job.reason,
    dependsOn: job.dependsOn,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    runAt: iso(job.runAt),
    command: shell ? (p.command ?? null) : null,
    shell: shell ? (p.shell ?? null) : null,
    cwd: shell ? (p.cwd ?? null) : null,
    // The environment is captured at submit; its values stay hidden unless asked for.
    env: shell && p.env ? (opts.env ? p.env : Object.keys(p.env).sort()) : null,
    name: job.name,
    key: job.key,
    labels: job.labels,
    target: job.target,
    remote: job.remote,
    payload: shell ? undefined : job.payload,
    result: job.result,
    escalatedFrom: job.escalatedFrom,
    escalatedTo: job.escalatedTo,
  };
}

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
