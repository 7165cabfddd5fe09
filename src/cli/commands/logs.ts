import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { Command } from "commander";
import { NotFoundError } from "../../core/errors.js";
import { shellLogPath } from "../../executors/shell.js";
import type { Job } from "../../core/job.js";
import type { Runway } from "../../runtime/runway.js";
import { home, parseIntOption, withRunway } from "../context.js";
import { withJobTarget } from "../remote.js";

/** Copies what a file holds past `from` to stdout; returns where it stopped. */
function copyFrom(path: string, from: number): number {
  if (!existsSync(path)) return from;
  const size = statSync(path).size;
  if (size <= from) return from;
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    process.stdout.write(buf);
  } finally {
    closeSync(fd);
  }
  return size;
}

/**
 * Streams a remote run's output from the server, by byte offset, following it (and the runs of
 * later attempts) while the job is running. false: the server could not be reached and nothing
 * was printed, so the caller shows the copy kept here.
 */
async function remoteLogs(rw: Runway, first: Job, follow: boolean): Promise<boolean> {
  let job = first;
  let runId = job.remote!.runId;
  let offset = 0;
  let printed = false;
  for (;;) {
    let ended = false;
    try {
      const r = await withJobTarget(rw, job, async (client) => {
        for (;;) {
          const chunk = await client.tail(runId, offset);
          if (chunk.size < offset) offset = 0; // truncated or replaced: start again
          if (chunk.bytes.length > 0) {
            process.stdout.write(chunk.bytes);
            offset += chunk.bytes.length;
            printed = true;
            continue;
          }
          if (!follow || chunk.ended) return chunk.ended;
          await new Promise((r) => setTimeout(r, 300));
        }
      });
      ended = r ?? true;
    } catch (err) {
      if (!printed) {
        process.stderr.write(`runway: cannot fetch the log from ${job.target}: ${(err as Error).message}; showing the copy kept here\n`);
        return false;
      }
      throw err;
    }
    if (!follow) return true;
    job = (await rw.get(job.id))!;
    if (job.remote && job.remote.runId !== runId && ["running", "queued", "scheduled"].includes(job.status)) {
      runId = job.remote.runId;
      offset = 0;
      process.stdout.write(`--- attempt ${job.remote.attempt} ---\n`);
      continue;
    }
    // The run is over; the job may still be on its way to its final state, or to another attempt.
    if (ended && !["running", "queued", "scheduled", "blocked"].includes(job.status)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  process.exitCode = job.status === "completed" ? 0 : 1;
  return true;
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("Print a shell job's output (stdout and stderr) for its latest attempt, or follow it while it runs")
    .argument("<id>", "job id")
    .option("-f, --follow", "keep printing new output until the job finishes")
    .option("-a, --attempt <n>", "a given attempt instead of the latest", parseIntOption("attempt"))
    .addHelpText("after", "\nExamples:\n  runway logs 01j9zq…\n  runway logs -f 01j9zq…\n  runway logs -a 1 01j9zq…\n")
    .action(async (id: string, opts: { follow?: boolean; attempt?: number }) => {
      await withRunway(program, async (rw) => {
        let job = await rw.get(id);
        if (!job) throw new NotFoundError("job", id);
        if (job.target && job.remote && (opts.attempt === undefined || opts.attempt === job.remote.attempt)) {
          if (await remoteLogs(rw, job, !!opts.follow)) return;
        }
        let attempt = opts.attempt ?? Math.max(1, job.attempt);
        let offset = copyFrom(shellLogPath(home(), id, attempt), 0);
        if (!opts.follow) return;
        // Follows across retries too: a new attempt starts a new file.
        for (;;) {
          job = (await rw.get(id))!;
          if (opts.attempt === undefined && job.attempt > attempt && job.status === "running") {
            attempt = job.attempt;
            offset = 0;
            process.stdout.write(`--- attempt ${attempt} ---\n`);
          }
          offset = copyFrom(shellLogPath(home(), id, attempt), offset);
          if (!["running", "queued", "scheduled", "blocked"].includes(job.status)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        copyFrom(shellLogPath(home(), id, attempt), offset);
        process.exitCode = job.status === "completed" ? 0 : 1;
      });
    });
}
