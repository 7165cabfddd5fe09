import type { Command } from "commander";
import type { Job } from "../../core/job.js";
import type { Runway } from "../../runtime/runway.js";
import { home, jobJson, printJson, withRunway } from "../context.js";

/**
 * A running job on a target is stopped there from here as well (TERM, then KILL): it must stop
 * even when no worker is watching it. Its worker does the same when it notices; twice is harmless.
 */
async function cancel(rw: Runway, id: string): Promise<Job> {
  const { cancelJob } = await import("../../runtime/target-lanes.js");
  const { job, remote } = await cancelJob(rw, id, { home: home() });
  await remote.catch((err: Error) => {
    process.stderr.write(`runway: ${id} is marked cancelled, but stopping it on ${job.target} failed: ${err.message}; its worker will try again\n`);
  });
  return job;
}

/** cancel, retry and skip: the same shape, one or more ids, the new status of each. */
const VERBS: { name: string; description: string; run: (rw: Runway, id: string) => Promise<Job>; example: string }[] = [
  { name: "cancel", description: "Cancel jobs: waiting ones at once, running ones by stopping their process group (on a target too)", run: cancel, example: "runway cancel 01j9zq…" },
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
