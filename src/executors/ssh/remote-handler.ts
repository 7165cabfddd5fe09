import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, relative } from "node:path";
import type { Job } from "../../core/job.js";
import { AttemptAborted, type Handler, type JobContext, PermanentFailure, ReleaseJob } from "../../core/handler.js";
import { type ShellPayload, type ShellResult, ShellFailure, lastLine, shellLogPath } from "../shell.js";
import { TransportError } from "./connection.js";
import { shellQuote, remoteCommand } from "./quote.js";
import type { RunEnd, RunWatcher } from "./run-watcher.js";
import { SyncError, type TargetClient } from "./target-client.js";

export interface RemoteHandlerOptions {
  /** RUNWAY_HOME: the end of each run's output is kept in <home>/logs/<job id>/<attempt>.log. */
  home: string;
  client: TargetClient;
  watcher: RunWatcher;
  /** Seconds between TERM and KILL when a run is cancelled or times out. Default 5. */
  killGraceS?: number;
  /** The target could not be reached (the job goes back to its queue); the lane holds its claims a while. */
  onUnreachable(message: string): void;
  /** The target is full on the server's count (a run another worker adopted has not shown up here yet). */
  onBusy(): void;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The script a run executes on the server: the job's variables, the directory it was queued
 * from (inside the synced project) and the command, every word quoted. It travels on ssh's
 * stdin, never on a command line.
 */
export function jobScript(job: Job<ShellPayload>, attempt: number, syncRoot: string | null): string {
  const p = job.payload;
  const bad = (why: string) => new PermanentFailure(`invalid shell job: ${why}`);
  if (p === null || typeof p !== "object") throw bad("the payload is not an object");
  if ((p.command == null) === (p.shell == null)) throw bad("set exactly one of command and shell");
  const lines = [`# runway job ${job.id}, attempt ${attempt}`];
  const env: Record<string, string> = { ...(p.env ?? {}), RUNWAY_JOB_ID: job.id, RUNWAY_ATTEMPT: String(attempt), PYTHONUNBUFFERED: p.env?.PYTHONUNBUFFERED ?? "1" };
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw bad(`${JSON.stringify(k)} cannot be the name of an environment variable`);
    if (typeof v !== "string") throw bad(`the value of ${k} is not a string`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  // Queued from a folder inside the project: run in the same folder of the snapshot.
  if (syncRoot && typeof p.cwd === "string") {
    const rel = relative(syncRoot, p.cwd);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) lines.push(`cd ${shellQuote(rel)} || exit 127`);
  }
  if (p.command != null) {
    if (!Array.isArray(p.command) || p.command.length === 0 || !p.command.every((a) => typeof a === "string")) {
      throw bad("command must be a non-empty list of strings");
    }
    lines.push(`exec ${remoteCommand(p.command)}`);
  } else {
    if (typeof p.shell !== "string" || p.shell.trim() === "") throw bad("shell must be a non-empty command line");
    lines.push(`exec /bin/sh -c ${shellQuote(p.shell)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Runs shell jobs of one target there: sync, launch detached, watch, and record how each ended. */
export function remoteHandler(o: RemoteHandlerOptions): Handler<ShellPayload, ShellResult> {
  return (job, ctx) => runRemote(job, ctx, o);
}

function abortKind(ctx: JobContext): AttemptAborted["kind"] | null {
  const r: unknown = ctx.signal.reason;
  return r instanceof AttemptAborted ? r.kind : ctx.signal.aborted ? "shutdown" : null;
}

async function runRemote(job: Job<ShellPayload>, ctx: JobContext, o: RemoteHandlerOptions): Promise<ShellResult> {
  const { client, watcher } = o;
  const target = client.target;
  const logPath = shellLogPath(o.home, job.id, ctx.attempt);
  const started = Date.now();
  const sync = job.payload?.sync ?? target.sync;
  const script = jobScript(job, ctx.attempt, sync);
  let runId: string;
  try {
    await client.ensureInstalled();
    const open = job.remote && job.remote.attempt === ctx.attempt ? job.remote : null;
    let launch = true;
    if (open) {
      // This attempt was launched by a worker that is gone: adopt the run if the server has it.
      runId = open.runId;
      // No row there: the launch never got as far as the server's database, so it is done now
      // (launching is idempotent on the server; a run that has a row is never synced again).
      const snap = await client.status([runId], 0);
      launch = !snap.runs.get(runId)?.row;
    } else {
      // Unique per launch: a job put back after its run was stopped launches a new one.
      runId = `${job.id}-${ctx.attempt}-${randomBytes(2).toString("hex")}`;
      // Recorded before anything happens on the server: whoever takes the job over finds it.
      await ctx.recordRun({ runId, attempt: ctx.attempt, launchedAt: started });
    }
    if (launch) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (sync) await client.sync(runId, sync, ctx.signal);
      const answer = await client.launch({ runId, script, snapshot: !!sync });
      if (answer.state === "busy") {
        o.onBusy();
        throw new ReleaseJob(`${target.name} is full (${answer.running} running there)`);
      }
    }
  } catch (err) {
    if (err instanceof TransportError) {
      o.onUnreachable(err.message);
      throw new ReleaseJob(`${target.name} cannot be reached: ${err.message}`);
    }
    if (err instanceof SyncError) throw new ShellFailure(err.message, { exitCode: null, signal: null, logPath, tail: "" });
    throw err;
  }

  const end = await untilEnded(runId, ctx, o);
  if (end === null) {
    // Detached: the worker is stopping or lost the lease. The run goes on; whoever claims the job next adopts it.
    watcher.forget(runId);
    throw ctx.signal.reason ?? new Error("detached from the run");
  }
  const tailText = await keepTail(logPath, end.tail);
  const v = end.verdict;
  const details = { exitCode: v.exitCode, signal: v.signal === null ? null : `SIG${v.signal}`, logPath, tail: tailText };
  const durationMs = v.startedAt !== null && v.endedAt !== null ? Math.round((v.endedAt - v.startedAt) * 1000) : Date.now() - started;
  if (v.status === "SUCCEEDED") return { exitCode: 0, signal: null, logPath, tail: tailText, durationMs };
  const kind = abortKind(ctx);
  if (kind === "cancel" || kind === "timeout" || kind === "requeue") {
    // A requeued job starts a new run when it comes back; this one is over.
    if (kind === "requeue") await ctx.recordRun(null).catch(() => undefined);
    throw new ShellFailure((ctx.signal.reason as Error).message, details);
  }
  const last = lastLine(tailText);
  let what: string;
  if (v.status === "LOST") what = `lost on ${target.name}: ${describeReason(v.reason)}`;
  else if (v.status === "CANCELLED") what = `cancelled on ${target.name}${v.exitCode !== null ? ` (exit code ${v.exitCode})` : ""}`;
  else if (v.reason === "never_started") what = `never started on ${target.name}: the wrapper did not come up`;
  else if (v.exitCode === null) what = `failed on ${target.name}: ${describeReason(v.reason)}`;
  else what = v.signal ? `killed by SIG${v.signal} on ${target.name}` : `exited with code ${v.exitCode}`;
  throw new ShellFailure(last && v.status !== "LOST" ? `${what}: ${last}` : what, details);
}

/** Waits for the run's end; on cancel or timeout stops it first. null: detached (shutdown, lease lost). */
async function untilEnded(runId: string, ctx: JobContext, o: RemoteHandlerOptions): Promise<RunEnd | null> {
  const ended = o.watcher.wait(runId);
  const aborted = new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const first = await Promise.race([ended, aborted.then(() => null)]);
  if (first) return first;
  const kind = abortKind(ctx);
  if (kind === "shutdown" || kind === "lease-lost") return null;
  // Cancelled, timed out or its queue stopped: TERM then KILL to the run's process group.
  for (let tries = 0; ; tries++) {
    try {
      await o.client.cancel(runId, o.killGraceS ?? 5);
      break;
    } catch (err) {
      if (err instanceof TransportError && tries < 5) {
        await new Promise((r) => setTimeout(r, 1000 * (tries + 1)));
        continue;
      }
      // The job ends here as asked; what may still run on the server is said, and no longer watched.
      o.watcher.forget(runId);
      throw new Error(`${(ctx.signal.reason as Error).message}; stopping it on ${o.client.target.name} failed (${(err as Error).message}): it may still be running there`);
    }
  }
  return ended;
}

/** The end of the run's output, kept next to local jobs' logs so `runway logs` works after the run. */
async function keepTail(logPath: string, tail: Buffer | null): Promise<string> {
  if (!tail || tail.length === 0) return "";
  try {
    await mkdir(dirname(logPath), { recursive: true });
    await writeFile(logPath, tail);
  } catch {
    // The copy is a convenience; the server keeps the whole log.
  }
  return tail.subarray(Math.max(0, tail.length - 4096)).toString("utf8");
}

const REASONS: Record<string, string> = {
  server_rebooted: "the server rebooted while it ran",
  missing_on_server: "its files are gone from the server",
  never_started: "it never started",
  recovered_from_exit_code_file: "recovered from its exit-code file",
};

function describeReason(reason: string | null): string {
  if (!reason) return "no reason recorded";
  if (reason.startsWith("wrapper_and_job_gone")) return "its wrapper and its processes were killed";
  if (reason.startsWith("wrapper_interrupted")) return `its wrapper was interrupted (${reason.split(":")[1] ?? "?"})`;
  return REASONS[reason] ?? reason;
}
