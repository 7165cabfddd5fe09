import type { Command } from "commander";
import { formatDuration } from "../../core/duration.js";
import { JOB_STATUSES } from "../../core/job.js";
import type { QueueStats } from "../../runtime/runway.js";
import { printJson, withRunway } from "../context.js";
import { table } from "../table.js";

/**
 * How long what is left should take: at the pace of the last minute when there was one, else from
 * the median duration and the queue's concurrency. null when nothing is left or nothing is known.
 */
export function eta(s: QueueStats): number | null {
  const left = s.counts.queued + s.counts.scheduled + s.counts.blocked + s.counts.running;
  if (left === 0) return 0;
  if (s.completedLastMinute > 0) return (left / s.completedLastMinute) * 60_000;
  if (s.durationP50Ms !== null) return (left * s.durationP50Ms) / (s.concurrency ?? 1);
  return null;
}

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("Counts by status, recent durations, throughput and an ETA for what is left, per queue")
    .argument("[queue]", "only this queue")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  runway stats\n  runway stats research --json\n")
    .action(async (queue: string | undefined, opts: { json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const stats = await rw.stats(queue);
        if (opts.json) return printJson(stats.map((s) => ({ ...s, etaMs: eta(s) })));
        if (stats.length === 0) return void process.stdout.write(`no queues yet in ${rw.location}\n`);
        const ms = (v: number | null) => (v === null ? "-" : formatDuration(v));
        process.stdout.write(
          table(
            ["queue", "state", "limit", ...JOB_STATUSES, "p50", "p95", "done/min", "eta"],
            stats.map((s) => [
              s.queue,
              s.state,
              s.concurrency === null ? "-" : String(s.concurrency),
              ...JOB_STATUSES.map((st) => String(s.counts[st])),
              ms(s.durationP50Ms),
              ms(s.durationP95Ms),
              String(s.completedLastMinute),
              ms(eta(s)),
            ]),
          ),
        );
      });
    });
}
