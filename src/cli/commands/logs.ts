import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { Command } from "commander";
import { NotFoundError } from "../../core/errors.js";
import { shellLogPath } from "../../executors/shell.js";
import { home, parseIntOption, withRunway } from "../context.js";

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
        let attempt = opts.attempt ?? Math.max(1, job.attempts);
        let offset = copyFrom(shellLogPath(home(), id, attempt), 0);
        if (!opts.follow) return;
        // Follows across retries too: a new attempt starts a new file.
        for (;;) {
          job = (await rw.get(id))!;
          if (opts.attempt === undefined && job.attempts > attempt && job.status === "running") {
            attempt = job.attempts;
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
