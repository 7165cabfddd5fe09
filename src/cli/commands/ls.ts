import type { Command } from "commander";
import { formatDuration } from "../../core/duration.js";
import { ValidationError } from "../../core/errors.js";
import { JOB_STATUSES, type Job, type JobStatus } from "../../core/job.js";
import { age, commandText, jobJson, parseIntOption, printJson, withRunway } from "../context.js";
import { table } from "../table.js";

export function parseStatuses(value: string | undefined): JobStatus[] | undefined {
  if (!value) return undefined;
  const list = value.split(",").map((s) => s.trim());
  for (const s of list) {
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw new ValidationError("status", `unknown status ${JSON.stringify(s)}; use ${JOB_STATUSES.join(", ")}`);
    }
  }
  return list as JobStatus[];
}

/** How long it ran, or how long ago it was added while it waits. */
function timing(job: Job, now: number): string {
  if (job.startedAt !== null && job.finishedAt !== null) return formatDuration(job.finishedAt - job.startedAt);
  if (job.startedAt !== null) return `${formatDuration(now - job.startedAt)} so far`;
  return `added ${age(now - job.createdAt)} ago`;
}

export function registerLs(program: Command): void {
  program
    .command("ls")
    .description("List jobs in the order they will run (or newest first with --recent)")
    .option("-q, --queue <queue>", "only this queue")
    .option("-s, --status <statuses>", `only these statuses, comma-separated: ${JOB_STATUSES.join(", ")}`)
    .option("--recent", "newest first")
    .option("-n, --limit <n>", "at most this many (default 50)", parseIntOption("limit"), 50)
    .option("--after <id>", "the page after this job (for paging)")
    .option("--json", "print a JSON array of jobs")
    .addHelpText("after", "\nExamples:\n  runway ls\n  runway ls -q solvers -s queued,running\n  runway ls --recent -n 10 --json\n")
    .action(async (opts: { queue?: string; status?: string; recent?: boolean; limit: number; after?: string; json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const jobs = await rw.list({
          ...(opts.queue ? { queue: opts.queue } : {}),
          ...(opts.status ? { status: parseStatuses(opts.status)! } : {}),
          ...(opts.after ? { after: opts.after } : {}),
          order: opts.recent ? "recent" : "queue",
          limit: opts.limit,
        });
        if (opts.json) return printJson(jobs.map((j) => jobJson(j)));
        if (jobs.length === 0) return void process.stdout.write("no jobs\n");
        const now = Date.now();
        process.stdout.write(
          table(
            ["id", "queue", "status", "priority", "position", "attempts", "name / command", "time"],
            jobs.map((j) => [
              j.id,
              j.queue,
              j.status,
              j.priority,
              String(Math.round(j.position)),
              `${j.attempts}/${j.maxAttempts}`,
              truncate(j.name ?? commandText(j) ?? j.kind, 48),
              timing(j, now),
            ]),
          ),
        );
      });
    });
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
