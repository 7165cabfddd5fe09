import type { Command } from "commander";
import type { QueueInfo } from "../../core/job.js";
import type { Runway } from "../../runtime/runway.js";
import { printJson, withRunway } from "../context.js";

const CONTROLS: { name: string; description: string; run: (rw: Runway, q: string) => Promise<QueueInfo> }[] = [
  { name: "pause", description: "Stop starting jobs in a queue; running ones finish", run: (rw, q) => rw.pause(q) },
  { name: "resume", description: "Start jobs in a paused or stopped queue again", run: (rw, q) => rw.resume(q) },
  { name: "stop", description: "Pause a queue and stop its running jobs; they go back to the queue", run: (rw, q) => rw.stop(q) },
];

export function registerControls(program: Command): void {
  for (const c of CONTROLS) {
    program
      .command(c.name)
      .description(c.description)
      .argument("[queue]", "queue name", "default")
      .option("--json", "print the queue as JSON")
      .addHelpText("after", `\nExamples:\n  runway ${c.name}\n  runway ${c.name} solvers\n`)
      .action(async (queue: string, opts: { json?: boolean }) => {
        await withRunway(program, async (rw) => {
          const q = await c.run(rw, queue);
          if (opts.json) printJson(q);
          else process.stdout.write(`queue ${q.name} ${q.state}\n`);
        });
      });
  }
}
