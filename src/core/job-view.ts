/** How a job looks to people and programs: the CLI's JSON, the HTTP API's, and its command as text. */
import type { Job } from "./job.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface ShellishPayload {
  command?: string[] | null;
  shell?: string | null;
  cwd?: string;
  env?: Record<string, string> | null;
}

/** A shell payload's command, for people: argv joined with quotes where needed, or the shell line. */
export function payloadCommandText(payload: unknown): string | null {
  const p = (payload ?? {}) as ShellishPayload;
  if (typeof p.shell === "string") return p.shell;
  if (Array.isArray(p.command)) return p.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
  return null;
}

/** The command a job runs, for people. */
export function commandText(job: Job): string | null {
  return payloadCommandText(job.payload);
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
    attempt: job.attempt,
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

export type JobView = ReturnType<typeof jobJson>;
