import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { formatDuration } from "../../core/duration.js";
import { NotFoundError } from "../../core/errors.js";
import { shellLogPath } from "../../executors/shell.js";
import { commandText, home, jobJson, printJson, withRunway } from "../context.js";

/** The last lines of an attempt's log file, if it has one. */
export function logTail(jobId: string, attempt: number, lines = 20): string | null {
  const path = shellLogPath(home(), jobId, attempt);
  if (!existsSync(path)) return null;
  return readFileSync(path, "utf8").split("\n").slice(-lines - 1).join("\n");
}

export function registerShow(program: Command): void {
  program
    .command("show")
    .description("Everything about a job: its command, attempts with exit codes, dependencies, escalation chain, log tail")
    .argument("<id>", "job id")
    .option("--env", "show the values of the captured environment")
    .option("--json", "print the job as JSON (with attempts and chain)")
    .addHelpText("after", "\nExamples:\n  runway show 01j9zq…\n  runway show 01j9zq… --json --env\n")
    .action(async (id: string, opts: { env?: boolean; json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const job = await rw.get(id);
        if (!job) throw new NotFoundError("job", id);
        const [attempts, chain] = await Promise.all([rw.attempts(id), rw.chain(id)]);
        if (opts.json) {
          return printJson({ ...jobJson(job, { env: !!opts.env }), attemptsLog: attempts, chain: chain.map((j) => j.id) });
        }
        const out: string[] = [];
        const line = (k: string, v: unknown) => v !== null && v !== undefined && v !== "" && out.push(`${k.padEnd(12)}${String(v)}`);
        line("id", job.id);
        line("name", job.name);
        line("command", commandText(job) ?? `${job.kind} ${JSON.stringify(job.payload)}`);
        const j = jobJson(job, { env: !!opts.env });
        line("cwd", j.cwd);
        if (j.env) line("env", opts.env ? Object.entries(j.env).map(([k, v]) => `${k}=${v}`).join(" ") : `${(j.env as string[]).length} variables (--env to see them)`);
        line("queue", job.queue);
        if (job.target) line("target", job.remote ? `${job.target} (run ${job.remote.runId})` : job.target);
        line("status", job.status + (job.reason ? ` (${job.reason})` : ""));
        line("priority", job.priority);
        line("attempts", `${job.attempts} of ${job.maxAttempts}`);
        line("exit code", job.exitCode);
        line("error", job.error);
        line("depends on", job.dependsOn.join(", "));
        if (chain.length > 1) line("escalation", chain.map((c) => `${c.id} (${c.kind}, ${c.status})`).join(" -> "));
        line("created", new Date(job.createdAt).toISOString());
        if (job.runAt > job.createdAt) line("runs at", new Date(job.runAt).toISOString());
        if (job.startedAt) line("started", new Date(job.startedAt).toISOString());
        if (job.finishedAt) line("finished", new Date(job.finishedAt).toISOString());
        if (job.result !== null && job.kind !== "shell") line("result", JSON.stringify(job.result));
        for (const a of attempts) {
          const code = a.exitCode === null ? "" : ` exit ${a.exitCode}`;
          out.push(`  attempt ${a.attempt}: ${a.outcome}${code} after ${formatDuration(a.finishedAt - a.startedAt)}${a.error ? `: ${a.error}` : ""}`);
        }
        const tail = job.attempt > 0 ? logTail(job.id, job.attempt) : null;
        if (tail) out.push("log (last lines):", ...tail.split("\n").map((l) => `  ${l}`));
        process.stdout.write(`${out.join("\n")}\n`);
      });
    });
}
