import { type ChildProcess, spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { type FileHandle, access, mkdir, open, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { Job } from "../core/job.js";
import { type Handler, type JobContext, PermanentFailure } from "../core/handler.js";
import { LineSplitter } from "./lines.js";
import { trackGroup } from "./orphans.js";
import { groupAlive, stopGroup } from "./process-group.js";

/** What a shell job carries: captured at submit. */
export interface ShellPayload {
  /** argv, run without a shell. Exactly one of command/shell is set. */
  command: string[] | null;
  /** a command line run with /bin/sh -c (when the user asked for a shell). */
  shell: string | null;
  cwd: string;
  /** the environment captured at submit (null: inherit the worker's). */
  env: Record<string, string> | null;
  /** On a target: the local directory synced for this job, in place of the target's. */
  sync?: string | null;
}

export interface ShellResult {
  exitCode: number;
  signal: string | null;
  logPath: string;
  tail: string;
  durationMs: number;
}

/** The attempt failed: non-zero exit, killed by a signal, or could not start. */
export class ShellFailure extends Error {
  override name = "ShellFailure";
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly logPath: string;
  readonly tail: string;

  constructor(
    message: string,
    details: { exitCode: number | null; signal: string | null; logPath: string; tail: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.logPath = details.logPath;
    this.tail = details.tail;
  }
}

export interface ShellOptions {
  /** RUNWAY_HOME: logs go to <home>/logs/<job id>/<attempt>.log */
  home: string;
  /** SIGTERM to the process group, then SIGKILL after this many ms. Default 5000. */
  killGraceMs?: number;
  /** How much of the end of the log a result or failure carries. Default 4096 bytes. */
  tailBytes?: number;
}

const SHELL = "/bin/sh";
const MAX_LINE_CHARS = 4096;
const MAX_MESSAGE_LINE_CHARS = 200;
/**
 * Once the group is gone its pipes close at once; they stay open only when a process escaped the
 * group (setsid) holding them, and such a process must not keep the attempt running.
 */
const DRAIN_MS = 1_000;

export function shellLogPath(home: string, jobId: string, attempt: number): string {
  // The id becomes a directory name: one that climbs out of the logs folder is refused.
  if (jobId === "" || jobId === "." || jobId === ".." || /[/\\\0]/.test(jobId)) {
    throw new TypeError(`job id ${JSON.stringify(jobId)} cannot name a log directory`);
  }
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new TypeError(`attempt must be a whole number from 1, got ${attempt}`);
  }
  return join(home, "logs", jobId, `${attempt}.log`);
}

export function shellHandler(opts: ShellOptions): Handler<ShellPayload, ShellResult> {
  const killGraceMs = opts.killGraceMs ?? 5_000;
  const tailBytes = opts.tailBytes ?? 4_096;
  return (job, ctx) => runShell(job, ctx, { home: opts.home, killGraceMs, tailBytes });
}

interface Launch {
  file: string;
  args: string[];
  /** How the command is named in messages. */
  display: string;
}

function launchOf(payload: ShellPayload): Launch {
  const bad = (why: string) => new PermanentFailure(`invalid shell job: ${why}`);
  if (payload === null || typeof payload !== "object") throw bad("the payload is not an object");
  const { command, shell, cwd, env } = payload;
  if ((command == null) === (shell == null)) throw bad("set exactly one of command and shell");
  if (typeof cwd !== "string" || cwd === "") throw bad("cwd must be a non-empty path");
  if (env != null && (typeof env !== "object" || Object.values(env).some((v) => typeof v !== "string"))) {
    throw bad("env must map names to strings");
  }
  if (command != null) {
    if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === "string")) {
      throw bad("command must be a non-empty list of strings");
    }
    const [file, ...args] = command as [string, ...string[]];
    if (file === "") throw bad("the command name is empty");
    return { file, args, display: file };
  }
  if (typeof shell !== "string" || shell.trim() === "") throw bad("shell must be a non-empty command line");
  return { file: SHELL, args: ["-c", shell], display: SHELL };
}

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.message) return r.message;
  if (typeof r === "string" && r) return r;
  return "the attempt was stopped";
}

async function runShell(
  job: Job<ShellPayload>,
  ctx: JobContext,
  o: Required<ShellOptions>,
): Promise<ShellResult> {
  const payload = job.payload;
  const launch = launchOf(payload);
  const logPath = shellLogPath(o.home, job.id, ctx.attempt);
  const fail = (message: string, more: Partial<ConstructorParameters<typeof ShellFailure>[1]> = {}, cause?: unknown) =>
    new ShellFailure(
      message,
      { exitCode: null, signal: null, tail: "", ...more, logPath },
      cause === undefined ? undefined : { cause },
    );
  const aborted = () => fail(reasonOf(ctx.signal), {}, ctx.signal.reason);

  if (ctx.signal.aborted) throw aborted();
  const cwdProblem = await workingDirectoryProblem(payload.cwd);
  if (cwdProblem) throw fail(`cannot start ${JSON.stringify(launch.display)}: ${cwdProblem}`);

  let handle: FileHandle | undefined;
  let logStart: number;
  try {
    // Output may hold secrets: the log folders and files are private to runway's user.
    await mkdir(dirname(logPath), { recursive: true, mode: 0o700 });
    handle = await open(logPath, "a", 0o600);
    // A log that already holds an earlier run of this attempt keeps it; the tail is this run's only.
    logStart = (await handle.stat()).size;
  } catch (err) {
    await handle?.close().catch(() => {});
    throw fail(`cannot write the log ${logPath}: ${(err as Error).message}`, {}, err);
  }
  const log = handle.createWriteStream();
  let logError: Error | null = null;
  log.on("error", (err) => {
    logError ??= err;
  });
  const closeLog = () =>
    new Promise<void>((done) => {
      if (log.closed) return done();
      log.once("close", () => done());
      log.end();
    });

  if (ctx.signal.aborted) {
    await closeLog();
    throw aborted();
  }

  const env = {
    ...(payload.env ?? process.env),
    RUNWAY_JOB_ID: job.id,
    RUNWAY_ATTEMPT: String(ctx.attempt),
  };
  let child: ChildProcess;
  try {
    child = spawn(launch.file, launch.args, {
      cwd: payload.cwd,
      env,
      // Its own process group, so one signal reaches everything it starts.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    // Arguments node refuses before trying, such as a NUL byte inside one.
    await closeLog();
    throw fail(`cannot start ${JSON.stringify(launch.display)}: ${(err as Error).message}`, {}, err);
  }

  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((done) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      done();
    }),
  );
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  const pipes = [stdout, stderr];
  const splitters: LineSplitter[] = [];
  const emitLine = (line: string) => {
    try {
      ctx.log(line);
    } catch {
      // The job's log is a convenience; the file has the output either way.
    }
  };
  let paused = false;
  for (const pipe of pipes) {
    const lines = new LineSplitter(emitLine, MAX_LINE_CHARS);
    splitters.push(lines);
    pipe.on("data", (chunk: Buffer) => {
      lines.push(chunk);
      if (logError || log.write(chunk) || paused) return;
      // The disk is slower than the process: let the pipe fill so the process waits, not memory.
      paused = true;
      for (const p of pipes) p.pause();
      const resume = () => {
        paused = false;
        log.off("drain", resume);
        log.off("error", resume);
        for (const p of pipes) p.resume();
      };
      log.once("drain", resume);
      log.once("error", resume);
    });
  }
  const pipesClosed = Promise.all(pipes.map(closedPromise));

  const started = await new Promise<NodeJS.ErrnoException | null>((done) => {
    child.once("spawn", () => done(null));
    child.once("error", (err) => done(err));
  });
  if (started) {
    await closeLog();
    const problem = await startProblem(started, launch, payload.cwd);
    throw fail(`cannot start ${JSON.stringify(launch.display)}: ${problem}`, {}, started);
  }
  child.on("error", () => {
    // Only kill() reports here, and signals go to the group through process.kill instead.
  });
  const pid = child.pid!;
  // Only ticks and microtasks have run since the spawn, so the leader cannot have been reaped yet
  // and its start time is still there to read.
  const tracked = trackGroup({ home: o.home, jobId: job.id, attempt: ctx.attempt, pid, graceMs: o.killGraceMs });
  void tracked.written.then((err) => {
    if (err) emitLine(`runway: could not record the running process group: ${err.message}`);
  });
  const t0 = performance.now();

  let abortReason: string | null = null;
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= stopGroup(pid, () => exit !== null, o.killGraceMs));
  let stoppedAfterAbort!: () => void;
  const abortHandled = new Promise<void>((done) => (stoppedAfterAbort = done));
  const onAbort = () => {
    // Once the process has exited its own status is the outcome; the abort only clears leftovers.
    if (exit === null) abortReason = reasonOf(ctx.signal);
    void stop().then(stoppedAfterAbort);
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  try {
    await Promise.race([exited, abortHandled]);
    const durationMs = Math.round(performance.now() - t0);
    // What the process left running in its group (`cmd &`) ends with it, not after the job.
    if (stopping || (exit !== null && (await groupAlive(pid)))) await stop();
    await tracked.release();

    // Unreferenced: a timer that lost the race must not hold the process open for a second.
    const drained = await Promise.race([pipesClosed.then(() => true), delay(DRAIN_MS, false, { ref: false })]);
    if (!drained) for (const p of pipes) p.destroy();
    for (const s of splitters) s.end();
    await closeLog();
    if (logError) emitLine(`runway: could not write ${logPath}: ${(logError as Error).message}`);
    const tail = await readTail(logPath, logStart, o.tailBytes);
    const status = exit as { code: number | null; signal: NodeJS.Signals | null } | null;
    const details = { exitCode: status?.code ?? null, signal: status?.signal ?? null, tail };

    if (abortReason !== null) throw fail(abortReason, details, ctx.signal.reason);
    if (status === null) throw fail("did not exit after SIGKILL", details);
    if (status.code === 0) return { exitCode: 0, signal: null, logPath, tail, durationMs };
    const what = status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
    const last = lastLine(tail);
    throw fail(last ? `${what}: ${last}` : what, details);
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    await tracked.release();
  }
}

function closedPromise(stream: Readable): Promise<void> {
  return new Promise((done) => {
    if (stream.closed || stream.destroyed) return done();
    stream.once("close", () => done());
  });
}

async function workingDirectoryProblem(cwd: string): Promise<string | null> {
  try {
    if (!(await stat(cwd)).isDirectory()) return `working directory ${cwd} is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `working directory ${cwd} does not exist`;
    if (code === "ENOTDIR") return `working directory ${cwd} is not a directory`;
    // Anything else (EACCES on a parent) is left to the spawn to report.
  }
  return null;
}

/** Node reports a missing command and a missing working directory alike as ENOENT. */
async function startProblem(err: NodeJS.ErrnoException, launch: Launch, cwd: string): Promise<string> {
  const cwdProblem = await workingDirectoryProblem(cwd);
  if (cwdProblem) return cwdProblem;
  switch (err.code) {
    case "ENOENT":
      // A script whose `#!` interpreter is missing fails exactly like a missing script.
      if (launch.file.includes("/") && (await exists(resolve(cwd, launch.file)))) {
        return "its interpreter (the #! line) was not found (ENOENT)";
      }
      return "command not found (ENOENT)";
    case "EACCES":
      try {
        await access(cwd, fsConstants.X_OK);
      } catch {
        return `working directory ${cwd} is not accessible (EACCES)`;
      }
      return "permission denied (EACCES)";
    case "E2BIG":
      return "the arguments and environment are too large (E2BIG)";
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readTail(path: string, from: number, bytes: number): Promise<string> {
  if (bytes <= 0) return "";
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(from, size - bytes);
    if (size <= start) return "";
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    let skip = 0;
    // A cut inside a multi-byte character would decode as a replacement character.
    if (start > from) while (skip < bytesRead && (buf[skip]! & 0xc0) === 0x80) skip++;
    return buf.subarray(skip, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** The last non-empty line of an output, shortened, to end a failure message with. */
export function lastLine(tail: string): string {
  const lines = tail.split(/\r?\n|\r/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    return line.length > MAX_MESSAGE_LINE_CHARS ? `${line.slice(0, MAX_MESSAGE_LINE_CHARS)}…` : line;
  }
  return "";
}
