import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ValidationError } from "../../core/errors.js";
import type { JobSpec } from "../../core/spec.js";
import { idList, jobJson, localDir, parseIntOption, printJson, withRunway } from "../context.js";

interface AddOptions {
  queue?: string;
  priority?: string;
  after?: string;
  dependsOn?: string;
  retries?: number;
  backoff?: string;
  timeout?: string;
  delay?: string;
  at?: string;
  key?: string;
  name?: string;
  shell?: string;
  env: boolean;
  file?: string;
  jobFile?: string;
  json?: boolean;
  on?: string;
  var?: string[];
  sync?: string;
}

/** Fields a job file may carry: a job's JSON names, plus ref for dependencies inside one file. */
const FILE_FIELDS = new Set([
  "name", "command", "shell", "cwd", "env", "queue", "priority", "dependsOn", "maxAttempts", "retries", "backoff",
  "timeout", "delay", "runAt", "key", "labels", "ref", "target",
]);

function captureEnv(keep: boolean): Record<string, string> | null {
  if (!keep) return null;
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A shell job's spec from the command line or a file entry; cwd and env are captured now, as pueue does. */
function shellSpec(entry: Record<string, unknown>, where: string, opts: AddOptions): JobSpec {
  for (const k of Object.keys(entry)) {
    if (!FILE_FIELDS.has(k)) throw new ValidationError(`${where}.${k}`, `unknown field; a job in a file may have ${[...FILE_FIELDS].join(", ")}`);
  }
  const command = entry.command;
  const shell = entry.shell;
  if (shell !== undefined && command !== undefined) throw new ValidationError(where, "give command (an argv array) or shell (a command line), not both");
  if (shell === undefined && (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === "string"))) {
    throw new ValidationError(`${where}.command`, 'expected an argv array of strings, e.g. ["python3", "bench.py", "--n", "10"]');
  }
  if (shell !== undefined && (typeof shell !== "string" || shell.trim() === "")) throw new ValidationError(`${where}.shell`, "expected a command line");
  const target = opts.on ?? (entry.target === undefined || entry.target === null ? undefined : entry.target);
  if (target !== undefined && typeof target !== "string") throw new ValidationError(`${where}.target`, "expected the name of a target (runway target ls)");
  const vars = parseVars(opts.var ?? []);
  const retries = entry.retries === undefined ? undefined : Number(entry.retries);
  const spec: Record<string, unknown> = {
    kind: "shell",
    payload: {
      command: shell === undefined ? command : null,
      shell: shell ?? null,
      cwd: typeof entry.cwd === "string" ? entry.cwd : process.cwd(),
      env: jobEnv(entry, target, vars, opts),
    },
  };
  if (target !== undefined) spec.target = target;
  if (opts.sync !== undefined) {
    if (target === undefined) throw new ValidationError("sync", "--sync is for jobs on a target: give --on <target> too");
    (spec.payload as Record<string, unknown>).sync = localDir(opts.sync, "sync");
  }
  for (const k of ["name", "queue", "priority", "dependsOn", "maxAttempts", "backoff", "timeout", "delay", "runAt", "key", "labels", "ref"]) {
    if (entry[k] !== undefined) spec[k] = entry[k];
  }
  if (retries !== undefined) spec.maxAttempts = retries + 1;
  // The command line wins over the file for what it sets.
  if (opts.queue) spec.queue = opts.queue;
  if (opts.priority) spec.priority = opts.priority;
  const after = opts.after ?? opts.dependsOn;
  if (after) spec.dependsOn = [...((spec.dependsOn as string[] | undefined) ?? []), ...idList(after)];
  if (opts.retries !== undefined) spec.maxAttempts = opts.retries + 1;
  if (opts.backoff) spec.backoff = opts.backoff;
  if (opts.timeout) spec.timeout = opts.timeout;
  if (opts.delay) spec.delay = opts.delay;
  if (opts.at) spec.runAt = opts.at;
  if (opts.key) spec.key = opts.key;
  if (opts.name) spec.name = opts.name;
  return spec as unknown as JobSpec;
}

/**
 * A local job runs with the environment captured now (or the worker's, with --no-env), plus --var.
 * A remote job gets the server's environment plus what is given: this machine's PATH or HOME
 * mean nothing there.
 */
function jobEnv(entry: Record<string, unknown>, target: unknown, vars: Record<string, string> | null, opts: AddOptions): Record<string, string> | null {
  if (entry.env && typeof entry.env === "object") return { ...(entry.env as Record<string, string>), ...vars };
  if (target !== undefined) return vars;
  if (vars && !opts.env) throw new ValidationError("var", "a local job with --no-env runs with the worker's environment and cannot add to it; drop --no-env");
  const captured = captureEnv(opts.env);
  return vars ? { ...captured, ...vars } : captured;
}

/** --var NAME=VALUE, repeated. */
function parseVars(list: string[]): Record<string, string> | null {
  if (list.length === 0) return null;
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    const name = eq < 0 ? "" : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ValidationError("var", `${JSON.stringify(item)} is not NAME=VALUE with a valid variable name`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

function readEntries(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ValidationError("file", code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new ValidationError("file", `${path} is empty; expected a JSON array or NDJSON of job specs`);
  try {
    if (trimmed.startsWith("[") || trimmed.startsWith("{") && !trimmed.includes("\n")) {
      const parsed = JSON.parse(trimmed) as unknown;
      return Array.isArray(parsed) ? parsed : [parsed];
    }
    return trimmed.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new ValidationError("file", `${path} is not valid JSON or NDJSON: ${(err as Error).message}`);
  }
}

export function registerAdd(program: Command): void {
  program
    .command("add")
    .description("Queue a shell command (argv after --, run without a shell unless --shell), or jobs from a file")
    .argument("[command...]", "the command and its arguments, after --")
    .option("-q, --queue <queue>", "queue to add to", undefined)
    .option("-p, --priority <priority>", "critical, high, normal or low (or P1..P4)")
    .option("--after <ids>", "comma-separated ids of jobs that must complete first")
    .option("--depends-on <ids>", "the same as --after")
    .option("--retries <n>", "attempts after the first, if it fails", parseIntOption("retries"))
    .option("--backoff <strategy>", "immediate, linear, exponential or fibonacci[:base[:cap]], e.g. exponential:2s:10m")
    .option("--timeout <duration>", "per-attempt limit, e.g. 30s, 2h")
    .option("--delay <duration>", "start no earlier than this from now")
    .option("--at <time>", "start no earlier than this time (ISO 8601)")
    .option("--key <key>", "unique key: while a job with it is waiting or running, return that job instead")
    .option("--name <label>", "a label shown instead of the command")
    .option("--shell <line>", "run this command line with /bin/sh -c instead of an argv")
    .option("--no-env", "do not capture the environment (the worker's is used)")
    .option("--on <target>", "run on this remote target (runway target ls) instead of the worker's machine")
    .option("--sync <dir>", "with --on: sync this local directory for the job instead of the target's")
    .option("--var <NAME=VALUE...>", "set an environment variable for the job (remote jobs get only these on top of the server's)")
    .option("--file <path>", "add every job of a JSON array or NDJSON file")
    .option("--job-file <path>", "add the one job described in a JSON file")
    .option("--json", "print the job(s) as JSON")
    .addHelpText(
      "after",
      `
Examples:
  runway add -- python3 bench.py --size 10
  runway add -q solvers -p high --retries 2 --backoff exponential:5s -- ./solve.sh instance-7
  runway add --after 01j9…,01j9… --name report -- make report
  runway add --shell 'for f in *.csv; do wc -l "$f"; done'
  runway add --on lab --var SEED=7 -- python3 bench.py --size 10
  runway add --file jobs.json --priority P1`,
    )
    .action(async (command: string[], opts: AddOptions) => {
      const sources = [command.length > 0 || opts.shell !== undefined, !!opts.file, !!opts.jobFile].filter(Boolean).length;
      if (sources !== 1) {
        throw new ValidationError("add", "give a command after --, --shell, --file or --job-file (exactly one of them)");
      }
      let specs: JobSpec[];
      if (opts.file) specs = readEntries(opts.file).map((e, i) => shellSpec(asObject(e, `jobs[${i}]`), `jobs[${i}]`, opts));
      else if (opts.jobFile) {
        const entries = readEntries(opts.jobFile);
        if (entries.length !== 1) throw new ValidationError("job-file", `${opts.jobFile} holds ${entries.length} jobs; use --file for several`);
        specs = [shellSpec(asObject(entries[0], "job"), "job", opts)];
      } else specs = [shellSpec(opts.shell !== undefined ? { shell: opts.shell } : { command }, "job", opts)];
      await withRunway(program, async (rw) => {
        const jobs = await rw.addMany(specs);
        if (opts.json) printJson(jobs.length === 1 && !opts.file ? jobJson(jobs[0]!) : jobs.map((j) => jobJson(j)));
        else for (const j of jobs) process.stdout.write(`${j.id}\n`);
      });
    });
}

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new ValidationError(where, "expected an object describing a job");
  return v as Record<string, unknown>;
}
