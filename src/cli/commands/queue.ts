import type { Command } from "commander";
import { ValidationError } from "../../core/errors.js";
import { printJson, withRunway } from "../context.js";
import { table } from "../table.js";

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("Queues: list them, set their concurrency");
  queue
    .command("ls")
    .description("Queues with their state, concurrency and counts")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  runway queue ls\n  runway queue ls --json\n")
    .action(async (opts: { json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const stats = await rw.stats();
        if (opts.json) return printJson(stats);
        if (stats.length === 0) return void process.stdout.write("no queues yet\n");
        process.stdout.write(
          table(
            ["queue", "state", "concurrency", "queued", "running", "waiting", "done", "failed"],
            stats.map((s) => [
              s.queue,
              s.state,
              s.concurrency === null ? "no limit" : String(s.concurrency),
              String(s.counts.queued),
              String(s.counts.running),
              String(s.counts.scheduled + s.counts.blocked),
              String(s.counts.completed),
              String(s.counts.failed + s.counts.cancelled + s.counts.skipped),
            ]),
          ),
        );
      });
    });
  queue
    .command("set")
    .description("Set a queue's concurrency (created if new): how many of its jobs run at once, across all workers")
    .argument("<queue>", "queue name")
    .requiredOption("-c, --concurrency <n>", 'a whole number, or "none" for no limit')
    .option("--json", "print the queue as JSON")
    .addHelpText("after", "\nExamples:\n  runway queue set solvers --concurrency 2\n  runway queue set bulk --concurrency none\n")
    .action(async (name: string, opts: { concurrency: string; json?: boolean }) => {
      const value = opts.concurrency === "none" ? null : Number(opts.concurrency);
      if (value !== null && (!Number.isInteger(value) || value < 1)) {
        throw new ValidationError("concurrency", `expected a whole number of 1 or more, or "none", got ${JSON.stringify(opts.concurrency)}`);
      }
      await withRunway(program, async (rw) => {
        const q = await rw.queue(name, { concurrency: value });
        if (opts.json) printJson(q);
        else process.stdout.write(`queue ${q.name}: concurrency ${q.concurrency ?? "no limit"}\n`);
      });
    });
}
