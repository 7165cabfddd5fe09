import type { Command } from "commander";
import { NotFoundError, ValidationError } from "../../core/errors.js";
import { FINISHED_STATUSES } from "../../core/job.js";
import { withRunway } from "../context.js";

export function registerWait(program: Command): void {
  program
    .command("wait")
    .description("Wait until jobs (or a whole queue) finish; exit 0 if all completed, 1 otherwise")
    .argument("[ids...]", "job ids")
    .option("-q, --queue <queue>", "wait for a queue to drain instead")
    .addHelpText("after", "\nExamples:\n  runway wait 01j9zq… 01j9zr…\n  runway wait --queue solvers && echo all done\n")
    .action(async (ids: string[], opts: { queue?: string }) => {
      if ((ids.length > 0) === !!opts.queue) throw new ValidationError("wait", "give job ids or --queue, one of the two");
      const tty = !!process.stderr.isTTY;
      await withRunway(program, async (rw) => {
        for (;;) {
          if (opts.queue) {
            const [s] = await rw.stats(opts.queue);
            const c = s!.counts;
            const left = c.queued + c.running + c.scheduled + c.blocked;
            const total = left + c.completed + c.failed + c.cancelled + c.skipped;
            if (tty) process.stderr.write(`\r${opts.queue}: ${total - left}/${total} done, ${c.running} running   `);
            if (left === 0) {
              if (tty) process.stderr.write("\n");
              process.exitCode = c.failed + c.cancelled + c.skipped === 0 ? 0 : 1;
              return;
            }
          } else {
            const jobs = await Promise.all(ids.map((id) => rw.get(id)));
            jobs.forEach((j, i) => {
              if (!j) throw new NotFoundError("job", ids[i]!);
            });
            const done = jobs.filter((j) => FINISHED_STATUSES.includes(j!.status));
            if (tty) process.stderr.write(`\r${done.length}/${jobs.length} finished   `);
            if (done.length === jobs.length) {
              if (tty) process.stderr.write("\n");
              process.exitCode = jobs.every((j) => j!.status === "completed") ? 0 : 1;
              return;
            }
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      });
    });
}
