import type { Command } from "commander";
import { ValidationError } from "../../core/errors.js";
import type { MoveTarget } from "../../runtime/runway.js";
import { jobJson, printJson, withRunway } from "../context.js";

export function registerMove(program: Command): void {
  program
    .command("move")
    .description("Change where a waiting job stands in its queue")
    .argument("<id>", "job id")
    .option("--top", "first of its priority")
    .option("--bottom", "last, as if added now")
    .option("--before <id>", "right before another job (taking its priority)")
    .option("--after <id>", "right after another job (taking its priority)")
    .option("--json", "print the job as JSON")
    .addHelpText("after", "\nExamples:\n  runway move 01j9zq… --top\n  runway move 01j9zq… --before 01j9zr…\n")
    .action(async (id: string, opts: { top?: boolean; bottom?: boolean; before?: string; after?: string; json?: boolean }) => {
      const picked = [opts.top, opts.bottom, opts.before, opts.after].filter((v) => v !== undefined);
      if (picked.length !== 1) throw new ValidationError("move", "give exactly one of --top, --bottom, --before <id>, --after <id>");
      const to: MoveTarget = opts.top ? "top" : opts.bottom ? "bottom" : opts.before ? { before: opts.before } : { after: opts.after! };
      await withRunway(program, async (rw) => {
        const job = await rw.move(id, to);
        if (opts.json) printJson(jobJson(job));
        else process.stdout.write(`${job.id} moved (${job.priority}, position ${job.position})\n`);
      });
    });
}
