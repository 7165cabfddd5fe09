import { spawn } from "node:child_process";
import type { Command } from "commander";
import { formatDuration, parseDuration } from "../../core/duration.js";
import { reapOrphans } from "../../executors/orphans.js";
import { shellHandler } from "../../executors/shell.js";
import type { Runway } from "../../runtime/runway.js";
import { commandText, home, openRunway, parseIntOption } from "../context.js";

interface WorkerOptions {
  queue?: string[];
  concurrency: number;
  prefetch: number;
  untilEmpty?: boolean;
  onDrain?: string;
  onFailure?: string;
  lease?: string;
}

type Say = (event: string, fields: Record<string, unknown>, text: string) => void;

/**
 * One line per event: words on a terminal, under a live progress line; NDJSON through pino for
 * a log collector otherwise. pino is loaded only for the latter.
 */
async function reporter(tty: boolean, progress: () => string): Promise<{ say: Say; redraw: () => void }> {
  if (!tty) {
    const { pino } = await import("pino");
    const log = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
    return {
      say: (event, fields, text) => (event === "warning" ? log.warn({ event, ...fields }, text) : log.info({ event, ...fields }, text)),
      redraw: () => {},
    };
  }
  let shown = "";
  const redraw = () => {
    shown = progress();
    process.stdout.write(`\r\x1b[K${shown}`);
  };
  return {
    say: (event, _fields, text) => {
      process.stdout.write(`\r\x1b[K${new Date().toISOString().slice(11, 19)} ${event.padEnd(9)} ${text}\n`);
      if (shown) process.stdout.write(shown);
    },
    redraw,
  };
}

/** done/total, running, and an ETA from the pace of the last minute, over the queues served. */
async function progressLine(rw: Runway, queues: string[] | undefined): Promise<string> {
  const stats = (await rw.stats()).filter((s) => !queues || queues.includes(s.queue));
  let left = 0;
  let done = 0;
  let running = 0;
  let perMinute = 0;
  for (const s of stats) {
    const c = s.counts;
    left += c.queued + c.scheduled + c.blocked + c.running;
    done += c.completed + c.failed + c.cancelled + c.skipped;
    running += c.running;
    perMinute += s.completedLastMinute;
  }
  const eta = left === 0 ? "idle" : perMinute > 0 ? `ETA ${formatDuration((left / perMinute) * 60_000)}` : "ETA unknown";
  return `${done}/${done + left} done · ${running} running · ${eta}`;
}

/** Runs a user's hook command with the details in its environment; its failure is reported, never fatal. */
function hook(line: string, env: Record<string, string>, say: Say): void {
  const child = spawn("/bin/sh", ["-c", line], { stdio: "inherit", env: { ...process.env, ...env } });
  child.on("error", (err) => say("warning", {}, `hook ${JSON.stringify(line)} did not start: ${err.message}`));
  child.on("exit", (code) => code && say("warning", { exitCode: code }, `hook ${JSON.stringify(line)} exited with code ${code}`));
}

/** Nothing left to run in the queues served: one existence probe per queue, however long its history. */
async function idle(rw: Runway, queues: string[] | undefined): Promise<boolean> {
  const names = queues ?? (await rw.queues()).map((q) => q.name);
  for (const queue of names) if (!(await rw.isDrained(queue))) return false;
  return true;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("Run jobs: claim them from the queues, in order, with the concurrency allowed, until stopped")
    .option("-q, --queue <queue...>", "only these queues (default: all)")
    .option("-c, --concurrency <n>", "jobs this worker runs at once (each queue's own limit applies too)", parseIntOption("concurrency"), 1)
    .option("--prefetch <n>", "claim up to this many jobs ahead, from queues without a limit", parseIntOption("prefetch"), 0)
    .option("--until-empty", "exit once every queue served has nothing left to run (0 if nothing failed, else 1)")
    .option("--on-drain <command>", "run this shell command when a queue drains (RUNWAY_QUEUE set)")
    .option("--on-failure <command>", "run this shell command when a job fails for good (RUNWAY_JOB_ID, RUNWAY_JOB_ERROR, … set)")
    .option("--lease <duration>", "how long a job stays claimed without a heartbeat before another worker may take it over (default 30s)")
    .addHelpText(
      "after",
      `
Examples:
  runway worker
  runway worker -q solvers -c 2
  runway worker --until-empty --on-drain 'notify-send "runway: $RUNWAY_QUEUE done"'

SIGINT or SIGTERM stops it gracefully (running jobs get 10 s to finish, then go back to their
queue); a second signal stops it at once.`,
    )
    .action(async (opts: WorkerOptions) => {
      const leaseMs = opts.lease === undefined ? undefined : parseDuration(opts.lease, "lease");
      // Process groups left running by a worker of this machine that was killed outright.
      const { killed } = await reapOrphans(home());
      const rw = openRunway(program);
      let line = "";
      const { say, redraw } = await reporter(!!process.stdout.isTTY, () => line);
      const progress = process.stdout.isTTY
        ? setInterval(() => {
            void progressLine(rw, opts.queue)
              .then((l) => {
                line = l;
                redraw();
              })
              .catch(() => {});
          }, 500)
        : null;
      let failures = 0;
      rw.on("started", ({ job }) => say("started", { jobId: job.id, queue: job.queue, attempt: job.attempt }, `${job.id} ${job.name ?? commandText(job) ?? job.kind} (${attemptText(job)})`));
      rw.on("completed", ({ job, durationMs }) => say("completed", { jobId: job.id, durationMs, exitCode: job.exitCode }, `${job.id} in ${durationMs} ms`));
      rw.on("retrying", ({ job, error, retryAt }) => say("retrying", { jobId: job.id, error, retryAt }, `${job.id}: ${error}; next attempt at ${new Date(retryAt).toISOString()}`));
      rw.on("escalated", ({ job, to }) => say("escalated", { jobId: job.id, to }, `${job.id} handed to ${to}`));
      rw.on("cancelled", ({ job }) => say("cancelled", { jobId: job.id }, `${job.id}`));
      rw.on("failed", ({ job, error }) => {
        failures++;
        say("failed", { jobId: job.id, error, exitCode: job.exitCode }, `${job.id}: ${error}`);
        if (opts.onFailure) {
          hook(opts.onFailure, { RUNWAY_JOB_ID: job.id, RUNWAY_JOB_NAME: job.name ?? "", RUNWAY_JOB_QUEUE: job.queue, RUNWAY_JOB_ERROR: error, RUNWAY_EXIT_CODE: String(job.exitCode ?? "") }, say);
        }
      });
      rw.on("drained", ({ queue }) => {
        say("drained", { queue }, `queue ${queue} completed: all jobs finished`);
        if (opts.onDrain) hook(opts.onDrain, { RUNWAY_QUEUE: queue }, say);
      });
      rw.removeAllListeners("warning");
      rw.on("warning", ({ message }) => say("warning", {}, message));
      const worker = rw.worker({
        handlers: { shell: shellHandler({ home: home() }) },
        ...(opts.queue ? { queues: opts.queue } : {}),
        concurrency: Math.max(1, opts.concurrency),
        prefetch: opts.prefetch,
        ...(leaseMs !== undefined ? { leaseMs, reaperIntervalMs: Math.max(100, Math.min(5000, Math.floor(leaseMs / 2))) } : {}),
        handleSignals: true,
      });
      const { TargetLanes } = await import("../../runtime/target-lanes.js");
      const lanes = await new TargetLanes(rw, {
        home: home(),
        ...(opts.queue ? { queues: opts.queue } : {}),
        ...(leaseMs !== undefined ? { leaseMs } : {}),
      }).start();
      if (killed > 0) say("warning", { killed }, `stopped ${killed} process group${killed === 1 ? "" : "s"} left running by a worker that was killed`);
      const targets = lanes.names.length ? ` (targets: ${lanes.names.join(", ")})` : "";
      say("ready", { workerId: worker.id, db: rw.location, targets: lanes.names }, `worker ${worker.id} on ${rw.location}${targets}`);
      const stopped = new Promise<void>((resolve) => {
        const check = async () => {
          if (opts.untilEmpty && worker.runningCount === 0 && lanes.runningCount === 0 && (await idle(rw, opts.queue))) {
            await Promise.all([worker.stop(), lanes.stop()]);
            return resolve();
          }
          setTimeout(() => void check().catch(() => resolve()), 200).unref();
        };
        if (opts.untilEmpty) void check();
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void Promise.all([worker.stop(), lanes.stop()]).then(() => resolve()));
      });
      await stopped;
      if (progress) {
        clearInterval(progress);
        process.stdout.write("\n");
      }
      await rw.close();
      process.exitCode = opts.untilEmpty && failures > 0 ? 1 : 0;
    });
}

/** "attempt 3" and, when it differs (the job was requeued or released), how much of its budget this one spends. */
function attemptText(job: { attempt: number; attempts: number; maxAttempts: number }): string {
  return job.attempt === job.attempts ? `attempt ${job.attempt}/${job.maxAttempts}` : `attempt ${job.attempt}, ${job.attempts}/${job.maxAttempts} of its budget`;
}
