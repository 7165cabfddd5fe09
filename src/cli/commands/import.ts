import { readFileSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { ValidationError } from "../../core/errors.js";
import { ACTIVE_STATUSES, type Job } from "../../core/job.js";
import { DEFAULT_QUEUE, type JobSpec, assertName } from "../../core/spec.js";
import type { Runway } from "../../runtime/runway.js";
import { jobJson, printJson, withRunway } from "../context.js";
import { type Task, TaskListError, parseTaskList } from "../tasklist.js";

interface ImportOptions {
  queue?: string;
  json?: boolean;
  dryRun?: boolean;
}

const PAGE = 1000;
const NAME_MAX = 120;

/** The list's identity is its real path, so `./tasks.md`, an absolute path and a symlink are one list. */
function readList(file: string): { path: string; text: string } {
  try {
    const path = realpathSync(file);
    return { path, text: readFileSync(path, "utf8") };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") throw new ValidationError(file, "no such file");
    if (code === "EISDIR") throw new ValidationError(file, "is a folder; expected a markdown task list");
    throw new ValidationError(file, `cannot read: ${(err as Error).message}`);
  }
}

function parse(file: string, text: string): Task[] {
  try {
    return parseTaskList(text);
  } catch (err) {
    // file:line is what editors and terminals turn into a link.
    if (err instanceof TaskListError) throw new ValidationError(err.line === null ? file : `${file}:${err.line}`, err.detail);
    throw err;
  }
}

/**
 * The job each task of this list already has in the queue, by task id. Paged newest first:
 * ids never change, while the claim order's cursor (priority, position) moves under a worker
 * or a `move` between pages.
 */
async function knownJobs(rw: Runway, queue: string, listPath: string): Promise<Map<string, Job>> {
  const byTask = new Map<string, Job>();
  let after: string | undefined;
  for (;;) {
    const page = await rw.list({ queue, limit: PAGE, order: "recent", after });
    for (const job of page) {
      const task = job.labels.tasklist === listPath ? job.labels.task : undefined;
      if (task === undefined) continue;
      const seen = byTask.get(task);
      // The newest job of a task stands for it, unless it was escalated away and an older one was not.
      if (!seen || (seen.escalatedTo !== null && job.escalatedTo === null)) byTask.set(task, job);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  // Escalation moves dependents to the successor job, which may live in another queue.
  for (const [task, job] of byTask) {
    let cur = job;
    for (let hops = 0; cur.escalatedTo !== null && hops < 100; hops++) {
      const next = await rw.get(cur.escalatedTo);
      if (!next) break;
      cur = next;
    }
    byTask.set(task, cur);
  }
  return byTask;
}

interface Plan {
  fresh: Task[];
  known: Task[];
  finished: Task[];
  /** For each fresh task: ids of existing jobs it waits for, and fresh tasks it waits for. */
  deps: Map<string, { jobs: string[]; tasks: string[] }>;
}

function plan(tasks: Task[], jobs: Map<string, Job>): Plan {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const finished = tasks.filter((t) => t.done);
  const known = tasks.filter((t) => !t.done && jobs.has(t.id));
  const unordered = tasks.filter((t) => !t.done && !jobs.has(t.id));
  const freshIds = new Set(unordered.map((t) => t.id));
  const deps = new Map<string, { jobs: string[]; tasks: string[] }>();
  for (const t of unordered) {
    const d = { jobs: [] as string[], tasks: [] as string[] };
    for (const dep of t.dependsOn) {
      if (freshIds.has(dep)) d.tasks.push(dep);
      else {
        const job = jobs.get(dep);
        // A checked box says the work is done; its job is waited for only while it still runs.
        if (job && (!byId.get(dep)!.done || ACTIVE_STATUSES.includes(job.status))) d.jobs.push(job.id);
      }
    }
    deps.set(t.id, d);
  }
  // Dependencies first, otherwise the order of the file: within a priority, jobs run in the order added.
  const fresh: Task[] = [];
  const placed = new Set<string>();
  const place = (t: Task): void => {
    if (placed.has(t.id)) return;
    placed.add(t.id);
    for (const dep of deps.get(t.id)!.tasks) place(byId.get(dep)!);
    fresh.push(t);
  };
  for (const t of unordered) place(t);
  return { fresh, known, finished, deps };
}

function jobName(task: Task): string {
  const name = `${task.id}: ${task.description}`.replace(/\s+/g, " ");
  return name.length > NAME_MAX ? `${name.slice(0, NAME_MAX - 1)}…` : name;
}

const ref = (taskId: string) => `task:${taskId}`;

function specs(p: Plan, o: { queue: string; listPath: string; env: Record<string, string> }): JobSpec[] {
  const cwd = dirname(o.listPath);
  return p.fresh.map((t) => {
    const d = p.deps.get(t.id)!;
    return {
      kind: "shell",
      payload: { command: null, shell: t.command, cwd, env: o.env },
      queue: o.queue,
      priority: t.priority,
      name: jobName(t),
      labels: { tasklist: o.listPath, task: t.id },
      ref: ref(t.id),
      dependsOn: [...d.jobs, ...d.tasks.map(ref)],
    };
  });
}

function captureEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

const summary = (verb: string, p: Plan) => `${verb} ${p.fresh.length}, already known ${p.known.length}, finished ${p.finished.length}`;

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("Queue the open tasks of a markdown task list as shell jobs; tasks imported before are not added again")
    .argument("<tasks.md>", "the task list: \"- [ ] <id>: <description> `command`\" items under priority headings")
    .option("-q, --queue <queue>", `queue to add to, and to look for tasks imported before (default: ${DEFAULT_QUEUE})`)
    .option("--json", "print { added, known, finished } as JSON")
    .option("--dry-run", "print what would be added; add nothing")
    .addHelpText(
      "after",
      `
A task is a list item "- [ ] <id>: <description>" with its command as inline code, on an
indented "cmd: ..." line or in an indented fenced code block. "## P1" (or "## Critical") above
items, or a [P2] / #P2 tag in one, sets priority. "(after: a, b)" or an indented "depends: a, b"
line makes a task wait for others. "- [x]" items are finished and never added. Commands run
with /bin/sh -c in the folder of the list, with the environment of the import.

Example list:
  ## P1
  - [ ] fetch: Download the data \`./fetch.sh\`
  ## P3
  - [ ] report: Build the report (after: fetch)
    cmd: make report

Examples:
  runway import tasks.md
  runway import --dry-run tasks.md
  runway import -q nightly --json tasks.md`,
    )
    .action(async (file: string, opts: ImportOptions) => {
      const queue = assertName(opts.queue ?? DEFAULT_QUEUE, "queue");
      const { path: listPath, text } = readList(file);
      const tasks = parse(file, text);
      await withRunway(program, async (rw) => {
        const p = plan(tasks, await knownJobs(rw, queue, listPath));
        const known = p.known.map((t) => t.id);
        const finished = p.finished.map((t) => t.id);
        if (opts.dryRun) {
          if (opts.json) {
            printJson({
              dryRun: true,
              added: p.fresh.map((t) => ({
                task: t.id,
                description: t.description,
                name: jobName(t),
                queue,
                priority: t.priority,
                shell: t.command,
                cwd: dirname(listPath),
                dependsOn: p.deps.get(t.id)!.jobs,
                dependsOnTasks: p.deps.get(t.id)!.tasks,
              })),
              known,
              finished,
            });
            return;
          }
          for (const t of p.fresh) process.stdout.write(`would add ${t.id} ${t.description}\n`);
          process.stdout.write(`${summary("would add", p)} (dry run: nothing added)\n`);
          return;
        }
        const jobs = await rw.addMany(specs(p, { queue, listPath, env: captureEnv() }));
        if (opts.json) {
          printJson({ added: jobs.map((j) => jobJson(j)), known, finished });
          return;
        }
        for (const [i, job] of jobs.entries()) process.stdout.write(`${job.id} ${p.fresh[i]!.id} ${p.fresh[i]!.description}\n`);
        process.stdout.write(`${summary("added", p)}\n`);
      });
    });
}
