import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { parseDuration } from "../../core/duration.js";
import { NotFoundError, ValidationError } from "../../core/errors.js";
import type { Target } from "../../core/target.js";
import { age, home, localDir, parseIntOption, printJson, withRunway } from "../context.js";
import { table } from "../table.js";

interface AddOptions {
  host: string;
  port?: number;
  identity?: string;
  dir?: string;
  sync?: string;
  exclude?: string[];
  concurrency?: number;
  replace?: boolean;
  json?: boolean;
}

function destination(t: Target): string {
  return `${t.host}${t.port ? `:${t.port}` : ""}`;
}

function reachability(t: Target): string {
  if (t.reachable === null) return "not contacted yet";
  const when = t.checkedAt ? ` (${age(Date.now() - t.checkedAt)} ago)` : "";
  return t.reachable ? `reachable${when}` : `unreachable${when}: ${t.message ?? "no details"}`;
}

export function registerTarget(program: Command): void {
  const target = program.command("target").description("Remote targets: servers that run jobs over SSH (runway add --on <target>)");
  target
    .command("add")
    .description("Add a target: an SSH destination, runway's directory there, and the local project synced for each job")
    .argument("<name>", "the target's name, used with runway add --on")
    .requiredOption("--host <[user@]host>", "SSH destination (a Host alias of ~/.ssh/config works too)")
    .option("--port <n>", "SSH port", parseIntOption("port"))
    .option("--identity <key>", "private key file")
    .option("--dir <remote dir>", "runway's directory on the server, relative to the remote home or absolute (default: runway)")
    .option("--sync <local dir>", "local project copied into a fresh snapshot on the server for each job, where it runs")
    .option("--exclude <pattern...>", "rsync patterns to leave out of the sync (.git, __pycache__, .venv, node_modules and .gitignore'd files always are)")
    .option("-c, --concurrency <n>", "jobs running on the target at once, across all workers (default 1)", parseIntOption("concurrency"))
    .option("--replace", "replace a target of the same name")
    .option("--json", "print the target as JSON")
    .addHelpText(
      "after",
      `
Examples:
  runway target add lab --host alice@lab.example.org --sync . --exclude 'results/' 'data/*.bin'
  runway target add gpu --host gpu1 --dir /scratch/alice/runway -c 2
  runway target check lab`,
    )
    .action(async (name: string, opts: AddOptions) => {
      const identity = opts.identity === undefined ? null : resolve(opts.identity);
      if (identity && !existsSync(identity)) throw new ValidationError("identity", `${opts.identity} does not exist`);
      const sync = opts.sync === undefined ? null : localDir(opts.sync, "sync");
      await withRunway(program, async (rw) => {
        const t = await rw.target(
          {
            name,
            host: opts.host,
            port: opts.port ?? null,
            identity,
            ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
            sync,
            excludes: opts.exclude ?? [],
            ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
          },
          { replace: !!opts.replace },
        );
        if (opts.json) return printJson(t);
        process.stdout.write(
          `target ${t.name}: ${destination(t)}, directory ${t.dir}${t.sync ? `, syncs ${t.sync}` : ""}, ${t.concurrency} at a time\n` +
            `check it with: runway target check ${t.name}\n`,
        );
      });
    });
  target
    .command("ls")
    .description("Targets with their jobs and whether they could be reached")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const [targets, counts] = await Promise.all([rw.targets(), rw.targetCounts()]);
        if (opts.json) return printJson(targets.map((t) => ({ ...t, counts: counts[t.name] ?? {} })));
        if (targets.length === 0) return void process.stdout.write("no targets yet; add one with: runway target add <name> --host [user@]host\n");
        process.stdout.write(
          table(
            ["target", "destination", "dir", "sync", "limit", "queued", "running", "status"],
            targets.map((t) => [
              t.name,
              destination(t),
              t.dir,
              t.sync ?? "-",
              String(t.concurrency),
              String((counts[t.name]?.queued ?? 0) + (counts[t.name]?.scheduled ?? 0) + (counts[t.name]?.blocked ?? 0)),
              String(counts[t.name]?.running ?? 0),
              reachability(t),
            ]),
          ),
        );
      });
    });
  target
    .command("rm")
    .description("Remove a target (refused while jobs wait for it or run on it)")
    .argument("<name>", "target name")
    .action(async (name: string) => {
      await withRunway(program, async (rw) => {
        if (!(await rw.removeTarget(name))) throw new NotFoundError("target", name);
        process.stdout.write(`target ${name} removed\n`);
      });
    });
  target
    .command("prune")
    .description("Delete runs that ended long ago from the server: their output, snapshot and record (results a job wrote into its snapshot go too)")
    .argument("<name>", "target name")
    .requiredOption("--older-than <duration>", "runs that ended longer ago than this, e.g. 7d")
    .addHelpText("after", "\nExample:\n  runway target prune lab --older-than 14d\n")
    .action(async (name: string, opts: { olderThan: string }) => {
      const ms = parseDuration(opts.olderThan, "older-than");
      await withRunway(program, async (rw) => {
        const t = await rw.getTarget(name);
        if (!t) throw new NotFoundError("target", name);
        const { targetClient } = await import("../../runtime/target-lanes.js");
        const n = await targetClient(t, { home: home() }).prune(ms / 1000);
        process.stdout.write(`target ${name}: ${n} run${n === 1 ? "" : "s"} removed from the server\n`);
      });
    });
  target
    .command("check")
    .description("Preflight: ssh without prompts, tools and versions, disk, logout survival; installs the server scripts and database")
    .argument("<name>", "target name")
    .option("--json", "print the checks as JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withRunway(program, async (rw) => {
        const t = await rw.getTarget(name);
        if (!t) throw new NotFoundError("target", name);
        const [{ preflight }, { targetClient }] = await Promise.all([import("../../executors/ssh/preflight.js"), import("../../runtime/target-lanes.js")]);
        const client = targetClient(t, { home: home() });
        const checks = await preflight(client);
        const ok = checks.every((c) => c.ok || c.warning);
        await rw.reportTarget(name, { reachable: checks.some((c) => c.what === "ssh" && c.ok), message: ok ? null : checks.find((c) => !c.ok && !c.warning)!.detail });
        if (opts.json) printJson({ target: name, ok, checks });
        else {
          for (const c of checks) process.stdout.write(`${c.ok ? "ok  " : c.warning ? "warn" : "FAIL"}  ${c.what.padEnd(18)} ${c.detail}\n`);
          process.stdout.write(ok ? `target ${name} is ready\n` : `target ${name} is not ready: fix what failed above and check again\n`);
        }
        process.exitCode = ok ? 0 : 1;
      });
    });
}
