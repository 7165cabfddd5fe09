import { formatDuration } from "../../core/duration.js";
import { type AbortKind, AttemptAborted, type Handler, PermanentFailure, ReleaseJob } from "../../core/handler.js";
import type { Job } from "../../core/job.js";
import type { Finish, Store } from "../../store/store.js";
import type { TypedEmitter } from "../events.js";
import { type Attempt, type Attempts, type Ending, newAttempt } from "./attempt.js";
import { AttemptContext, type AttemptOps } from "./context.js";

export interface ExecutorDeps {
  workerId: string;
  handlers: Record<string, Handler<any, any>>;
  store: Store;
  events: TypedEmitter;
  attempts: Attempts;
  markActive(queue: string): void;
  /** A line a handler logged, for the next batch of log lines. */
  log(a: Attempt, line: string): void;
  /** The handler has returned: its outcome to write, or null when the lease was lost and nothing may be written. */
  settled(a: Attempt, ending: Ending | null): void;
}

/** Runs attempts: each one's handler with its context and signal, its timeout, and the outcome it earned. */
export class Executor {
  private readonly ops: AttemptOps;

  constructor(private readonly d: ExecutorDeps) {
    this.ops = {
      workerId: () => d.workerId,
      progress: async (a, value) => {
        if (a.lost) return;
        if (await d.store.jobProgress({ id: a.job.id, token: a.token, progress: value })) {
          d.events.emit("progress", { job: a.job, progress: value });
        }
      },
      log: (a, line) => {
        if (!a.lost) d.log(a, line);
      },
      recordRun: async (a, run) => {
        if (a.lost || !(await d.store.jobRemoteSet({ id: a.job.id, token: a.token, remote: run }))) {
          throw new AttemptAborted("lease-lost", "the worker lost the job's lease");
        }
        a.job.remote = run;
      },
    };
  }

  start(job: Job, token: number): void {
    const a = newAttempt(job, token);
    this.d.attempts.add(a);
    this.d.markActive(job.queue);
    if (job.timeoutMs) a.timer = setTimeout(() => this.abort(a, "timeout"), job.timeoutMs);
    this.d.events.emit("started", { job, workerId: this.d.workerId });
    a.done = this.execute(a);
  }

  /** Asks the attempt to stop; the first reason given is the one it keeps. */
  abort(a: Attempt, kind: AbortKind): void {
    if (a.abortKind) return;
    a.abortKind = kind;
    const reasons: Record<AbortKind, string> = {
      cancel: "the job was cancelled",
      requeue: "the queue was stopped",
      timeout: timeoutMessage(a),
      "lease-lost": "the worker lost the job's lease",
      shutdown: "the worker is shutting down",
    };
    a.abortReason = new AttemptAborted(kind, reasons[kind]);
    a.controller?.abort(a.abortReason);
  }

  private async execute(a: Attempt): Promise<void> {
    const handler = this.d.handlers[a.job.kind]!;
    const ctx = new AttemptContext(a, this.ops);
    let finish: Finish;
    let result: unknown;
    try {
      result = await handler(a.job, ctx);
      finish = a.abortKind === "timeout"
        ? { id: a.job.id, token: a.token, outcome: "failed", error: timeoutMessage(a) }
        : { id: a.job.id, token: a.token, outcome: "completed", result, ...exitCodeOf(result) };
    } catch (err) {
      finish = failureFor(a, err);
    }
    if (a.timer) clearTimeout(a.timer);
    this.d.settled(a, a.lost ? null : { finish, attempt: a, result });
  }
}

function timeoutMessage(a: Attempt): string {
  return `timed out after ${formatDuration(a.job.timeoutMs ?? 0)}`;
}

/** What a handler's error means, read with why the attempt was asked to stop, if it was. */
function failureFor(a: Attempt, err: unknown): Finish {
  const base = { id: a.job.id, token: a.token };
  switch (a.abortKind) {
    case "cancel":
      return { ...base, outcome: "cancelled", error: "cancelled while running" };
    case "requeue":
    case "shutdown":
      return { ...base, outcome: "released" };
    case "timeout":
      return { ...base, outcome: "failed", error: timeoutMessage(a), ...exitCodeOf(err) };
    default: {
      if (err instanceof ReleaseJob) return { ...base, outcome: "released" };
      const message = err instanceof Error ? err.message || err.name : String(err);
      return { ...base, outcome: "failed", error: message, retryable: !(err instanceof PermanentFailure), ...exitCodeOf(err) };
    }
  }
}

/** A result or error that carries a process's exit code (a shell job's) has it recorded with the attempt. */
function exitCodeOf(value: unknown): { exitCode?: number | null } {
  if (value && typeof value === "object" && "exitCode" in value) {
    const code = (value as { exitCode: unknown }).exitCode;
    if (typeof code === "number" || code === null) return { exitCode: code };
  }
  return {};
}
