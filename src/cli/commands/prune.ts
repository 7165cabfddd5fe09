import type { Command } from "commander";
import { withRunway } from "../context.js";

export function registerPrune(program: Command): void {
  program
    .command("prune")
    .description("Delete finished jobs (completed, failed, cancelled, skipped) older than an age, with their attempts and logs")
    .requiredOption("--older-than <duration>", "e.g. 7d, 12h")
    .option("-q, --queue <queue>", "only this queue")
    .addHelpText("after", "\nExample:\n  runway prune --older-than 7d\n")
    .action(async (opts: { olderThan: string; queue?: string }) => {
      await withRunway(program, async (rw) => {
        const { deleted } = await rw.prune({ olderThan: opts.olderThan, ...(opts.queue ? { queue: opts.queue } : {}) });
        process.stdout.write(`deleted ${deleted} finished job${deleted === 1 ? "" : "s"}\n`);
      });
    });
}
