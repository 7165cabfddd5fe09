import type { Command } from "commander";
import { type CronSchedule, prepareCron } from "../../core/cron.js";
import { RunwayError, ValidationError } from "../../core/errors.js";
import { payloadCommandText } from "../../core/job-view.js";
import type { PriorityInput } from "../../core/priority.js";
import { printJson, withRunway } from "../context.js";
import { table } from "../table.js";
import { truncate } from "./ls.js";

interface CronAddOptions {
  queue?: string;
  priority?: string;
  timezone?: string;
  shell?: string;
  env: boolean;
  json?: boolean;
}

interface ShellPayload {
  command?: string[] | null;
  shell?: string | null;
  cwd?: string;
  env?: Record<string, string> | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function commandOf(s: CronSchedule): string {
  return s.kind === "shell" ? (payloadCommandText(s.payload) ?? "") : s.kind;
}

/** The JSON of a schedule (`cron ls --json`, `cron add --json`): a shell job's fields as `ls --json` names them. */
function cronJson(s: CronSchedule) {
  const p = (s.payload ?? {}) as ShellPayload;
  const shell = s.kind === "shell";
  return {
    name: s.name,
    pattern: s.pattern,
    timezone: s.timezone,
    queue: s.queue,
    kind: s.kind,
    priority: s.priority,
    command: shell ? (p.command ?? null) : null,
    shell: shell ? (p.shell ?? null) : null,
    cwd: shell ? (p.cwd ?? null) : null,
    // As with jobs, the captured environment's values stay out of listings.
    env: shell && p.env ? Object.keys(p.env).sort() : null,
    payload: shell ? undefined : s.payload,
    nextAt: iso(s.nextAt),
    createdAt: iso(s.createdAt),
  };
}

export function registerCron(program: Command): void {
  const cron = program.command("cron").description("Schedules: add a shell job at each tick of a cron expression");
  cron
    .command("add")
    .description("Add (or replace) a schedule that queues the command at each tick; workers fire the ticks")
    .argument("<name>", "the schedule's name; adding a name again replaces it")
    .argument("<pattern>", 'a cron expression, e.g. "0 3 * * *"; six fields for seconds, e.g. "*/10 * * * * *"')
    .argument("[command...]", "the command and its arguments, after --")
    .option("-q, --queue <queue>", "queue the jobs go to")
    .option("-p, --priority <priority>", "critical, high, normal or low (or P1..P4)")
    .option("--timezone <tz>", "IANA timezone the pattern is read in (default: this machine's)")
    .option("--shell <line>", "run this command line with /bin/sh -c instead of an argv")
    .option("--no-env", "do not capture the environment (the worker's is used)")
    .option("--json", "print the schedule as JSON")
    .addHelpText(
      "after",
      `
Examples:
  runway cron add nightly "0 3 * * *" -- ./backup.sh
  runway cron add report "0 9 * * 1-5" --timezone Europe/Paris -q reports --shell 'make report | mail -s report me'
  runway cron add pulse "*/10 * * * * *" -- curl -fsS https://example.com/health

Each tick queues one job (named after the schedule, with the key cron:<name>:<tick>), however
many workers run. Ticks missed while no worker ran are not made up one by one: the schedule
fires once, then waits for its next tick.`,
    )
    .action(async (name: string, pattern: string, command: string[], opts: CronAddOptions) => {
      if ((command.length > 0) === (opts.shell !== undefined)) {
        throw new ValidationError("cron add", "give a command after -- or --shell (exactly one of them)");
      }
      if (opts.shell !== undefined && opts.shell.trim() === "") throw new ValidationError("shell", "expected a command line");
      const env = opts.env
        ? Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined))
        : null;
      const schedule = {
        name,
        pattern,
        kind: "shell",
        payload: { command: opts.shell === undefined ? command : null, shell: opts.shell ?? null, cwd: process.cwd(), env },
        ...(opts.queue ? { queue: opts.queue } : {}),
        ...(opts.priority ? { priority: opts.priority as PriorityInput } : {}),
        ...(opts.timezone ? { timezone: opts.timezone } : {}),
      };
      // Bad input is refused before a database is opened (or created).
      prepareCron(schedule, Date.now());
      await withRunway(program, async (rw) => {
        const s = await rw.cron(schedule);
        if (opts.json) return printJson(cronJson(s));
        process.stdout.write(`cron ${s.name}: "${s.pattern}" (${s.timezone}), next at ${iso(s.nextAt) ?? "never"}\n`);
      });
    });
  cron
    .command("ls")
    .description("Schedules, with their next tick")
    .option("--json", "print a JSON array of schedules")
    .action(async (opts: { json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const schedules = await rw.crons();
        if (opts.json) return printJson(schedules.map(cronJson));
        if (schedules.length === 0) return void process.stdout.write("no cron schedules\n");
        process.stdout.write(
          table(
            ["name", "pattern", "timezone", "queue", "next", "command"],
            schedules.map((s) => [s.name, s.pattern, s.timezone, s.queue, iso(s.nextAt) ?? "never", truncate(commandOf(s), 48)]),
          ),
        );
      });
    });
  cron
    .command("rm")
    .description("Remove a schedule (jobs it already queued stay)")
    .argument("<name>", "the schedule's name")
    .action(async (name: string) => {
      await withRunway(program, async (rw) => {
        if (!(await rw.uncron(name))) throw new RunwayError("not_found", `no cron schedule named ${JSON.stringify(name)}; runway cron ls lists them`);
        process.stdout.write(`cron ${name} removed\n`);
      });
    });
}
