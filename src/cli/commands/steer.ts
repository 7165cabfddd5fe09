import type { Command } from "commander";
import type { Job } from "../../core/job.js";
import type { Runway } from "../../runtime/runway.js";
import { jobJson, printJson, withRunway } from "../context.js";

/** cancel, retry and skip: the same shape, one or more ids, the new status of each. */
const VERBS: { name: string; description: string; run: (rw: Runway, id: string) => Promise<Job>; example: string }[] = [
  { name: "cancel", description: "Cancel jobs: waiting ones at once, running ones by stopping their process group", run: (rw, id) => rw.cancel(id), example: "runway cancel 01j9zq…" },
  { name: "retry", description: "Requeue failed, cancelled or skipped jobs with fresh attempts (jobs skipped because of them wait again)", run: (rw, id) => rw.requeue(id), example: "runway retry 01j9zq…" },
  { name: "skip", description: "Skip jobs that have not started (jobs that depend on them are skipped too)", run: (rw, id) => rw.skip(id), example: "runway skip 01j9zq…" },
];

export function registerSteer(program: Command): void {
  for (const verb of VERBS) {
    program
      .command(verb.name)
      .description(verb.description)
      .argument("<ids...>", "job ids")
      .option("--json", "print the jobs as JSON")
      .addHelpText("after", `\nExample:\n  ${verb.example}\n`)
      .action(async (ids: string[], opts: { json?: boolean }) => {
        await withRunway(program, async (rw) => {
          const jobs: Job[] = [];
          for (const id of ids) jobs.push(await verb.run(rw, id));
          if (opts.json) return printJson(jobs.map((j) => jobJson(j)));
          for (const j of jobs) {
            const note = verb.name === "cancel" && j.status === "running" ? "running: asked to stop" : j.status;
            process.stdout.write(`${j.id} ${note}\n`);
          }
        });
      });
  }
}
