import { type StdioOptions, execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { open } from "../../src/index.js";
import { RUNWAY_CLI as CLI } from "./runway-internals.js";
import type { ShellFigure, ShellTableText } from "./shell-report.js";
import { sleep } from "./side.js";
import { quantile, summarize } from "./stats.js";

export const SHELL_SIDES = ["runway-shell", "tsp"] as const;
export type ShellSideName = (typeof SHELL_SIDES)[number];
/** What --only selects for this table. */
export const SHELL_WORKLOAD_ID = "shell";

export interface ShellSizes {
  jobs: number;
  adds: number;
  spawnWarmup: number;
  nodeStarts: number;
}

/** The issue's workload; --quick only cuts the runs, since one run of it takes about 15 s. */
export const SHELL_SIZES: ShellSizes = { jobs: 500, adds: 30, spawnWarmup: 100, nodeStarts: 10 };

const TARGET_OVERHEAD_MS = 10;
const TARGET_ADD_MS = 150;
const DRAIN_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 30_000;
/** How long the `tsp -w` on the last job gets to connect and start waiting before the gate opens. */
const WAITER_HEAD_START_MS = 200;

interface Finished {
  /** From just before spawn() to the 'exit' event. */
  ms: number;
  exitAt: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Started {
  done: Promise<Finished>;
  exited: () => boolean;
}

function start(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdout?: "pipe" | "ignore" | number; timeoutMs?: number } = {},
): Started {
  let exited = false;
  const done = new Promise<Finished>((resolve, reject) => {
    const stdio: StdioOptions = ["ignore", opts.stdout ?? "pipe", "pipe"];
    const t0 = performance.now();
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio });
    let exitAt = 0;
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out after ${(opts.timeoutMs ?? STEP_TIMEOUT_MS) / 1000} s: ${file} ${args.join(" ")}\n${stderr}`));
    }, opts.timeoutMs ?? STEP_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'exit' ends the clock; 'close' comes once the pipes are read to the end, for the output only.
    child.once("exit", () => {
      exitAt = performance.now();
      exited = true;
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: exitAt - t0, exitAt, code, signal, stdout, stderr });
    });
  });
  return { done, exited: () => exited };
}

async function ok(p: Promise<Finished>, what: string): Promise<Finished> {
  const r = await p;
  if (r.code !== 0) {
    throw new Error(`${what} exited with ${r.signal ?? `code ${r.code}`}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}`);
  }
  return r;
}

/** The floor both sides are measured against, as the issue defines it: Node's own spawn of /bin/true. */
async function bareSpawnMs(n: number, warmup: number): Promise<number> {
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn("/bin/true", [], { stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", () => resolve());
    });
  for (let i = 0; i < warmup; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  return (performance.now() - t0) / n;
}

/** Node's start-up alone, which every `runway` command pays before runway's own code runs. */
async function nodeStartMs(n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push((await ok(start(process.execPath, ["-e", "0"]).done, "node -e 0")).ms);
  return quantile(samples, 50);
}

interface SideRun {
  startupMs: number;
  drainMs: number;
  /** runway's drain is timed from the worker's spawn; tsp's server is already up when its drain starts. */
  drainIncludesStartup: boolean;
  /** From the last job's completion to the process's exit, where the side can tell. */
  tailMs: number | null;
  addMs: number[];
}

/**
 * The worker writes one JSON line per event when its stdout is not a terminal; the last
 * 'completed' one dates the end of the work, and what follows until the exit is the worker's own.
 */
function exitTailMs(workerOut: string, exitAt: number): number | null {
  let last: number | null = null;
  for (const line of workerOut.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as { event?: string; time?: string };
      if (e.event === "completed" && e.time) last = Date.parse(e.time);
    } catch {
      // Not an event line.
    }
  }
  return last === null || Number.isNaN(last) ? null : performance.timeOrigin + exitAt - last;
}

/** Without these a user's own settings would reach into the runs: another database, another home. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("RUNWAY_") || k.startsWith("TS_")) delete env[k];
  delete env.DATABASE_URL;
  return env;
}

async function runwayRun(dir: string, s: ShellSizes): Promise<SideRun> {
  const db = join(dir, "runway.db");
  const env = { ...cleanEnv(), RUNWAY_HOME: join(dir, "home"), RUNWAY_DB: db };
  const rw = (args: string[], opts: { stdout?: number; timeoutMs?: number } = {}) => start(process.execPath, [CLI, ...args], { env, cwd: dir, ...opts }).done;

  // Makes and migrates the database, so the start-up run below finds one, as the drain's worker does.
  await ok(rw(["stats"]), "runway stats");
  const startup = await ok(rw(["worker", "--until-empty"]), "runway worker --until-empty (no jobs)");

  const jobsFile = join(dir, "jobs.ndjson");
  writeFileSync(jobsFile, `${Array.from({ length: s.jobs }, () => JSON.stringify({ command: ["true"] })).join("\n")}\n`);
  await ok(rw(["add", "--file", jobsFile]), "runway add --file");

  // Its output goes to a file, as a worker's would under a supervisor: neither /dev/null's nor a pipe's cost.
  const outPath = join(dir, "worker.out");
  const out = openSync(outPath, "w");
  let drain: Finished;
  try {
    drain = await ok(rw(["worker", "--until-empty"], { stdout: out, timeoutMs: DRAIN_TIMEOUT_MS }), "runway worker --until-empty");
  } finally {
    closeSync(out);
  }
  const store = open({ db });
  try {
    const stats = await store.stats();
    const completed = stats.reduce((sum, q) => sum + q.counts.completed, 0);
    if (completed !== s.jobs) throw new Error(`runway shell drain: ${completed} of ${s.jobs} jobs recorded completed`);
  } finally {
    await store.close();
  }

  const addMs: number[] = [];
  for (let i = 0; i < s.adds; i++) addMs.push((await ok(rw(["add", "--", "true"]), "runway add -- true")).ms);
  const tailMs = exitTailMs(readFileSync(outPath, "utf8"), drain.exitAt);
  return { startupMs: startup.ms, drainMs: drain.ms, drainIncludesStartup: true, tailMs, addMs };
}

interface Gate {
  id: number;
  release: () => void;
}

/**
 * A job that holds tsp's only slot until released: `cat` on a FIFO, which ends when the FIFO's
 * write end is closed. Without it tsp would run each job as soon as it is queued.
 */
async function holdSlot(dir: string, name: string, tsp: (args: string[]) => Promise<Finished>): Promise<Gate> {
  const fifo = join(dir, name);
  execFileSync("mkfifo", [fifo]);
  const id = Number((await ok(tsp(["cat", fifo]), "tsp cat <fifo>")).stdout.trim());
  // A non-blocking open of the write end fails with ENXIO until a reader has the FIFO open, so once
  // it succeeds the gate job is running and the slot is taken.
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  let fd: number | null = null;
  while (fd === null) {
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
      if (performance.now() > deadline) throw new Error(`tsp never started the gate job ${id}`);
      await sleep(2);
    }
  }
  let held = true;
  return {
    id,
    release: () => {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

function finishedOk(list: string): number {
  // ID State Output E-Level Times Command: only finished jobs have the E-Level and Times columns.
  return list
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[1] === "finished" && c[3] === "0" && c.slice(5).join(" ") === "true").length;
}

async function tspRun(dir: string, s: ShellSizes): Promise<SideRun> {
  const env = {
    ...cleanEnv(),
    TS_SOCKET: join(dir, "tsp.socket"),
    // Where tsp puts each job's output file, as runway keeps a log file per job.
    TMPDIR: dir,
    TS_MAXFINISHED: String(s.jobs + s.adds + 10),
  };
  const tsp = (args: string[], timeoutMs?: number) => start("tsp", args, { env, cwd: dir, ...(timeoutMs ? { timeoutMs } : {}) }).done;
  const gates: Gate[] = [];
  try {
    // The first call on a new socket forks the server and waits for it to answer: tsp's start-up.
    const startup = await ok(tsp(["-S", "1"]), "tsp -S 1");

    const gate = await holdSlot(dir, "gate-drain", tsp);
    gates.push(gate);
    let last = -1;
    for (let i = 0; i < s.jobs; i++) last = Number((await ok(tsp(["true"]), "tsp true")).stdout.trim());
    const waiter = start("tsp", ["-w", String(last)], { env, cwd: dir, timeoutMs: DRAIN_TIMEOUT_MS });
    await sleep(WAITER_HEAD_START_MS);
    if (waiter.exited()) throw new Error(`tsp -w ${last} returned before the gate opened: ${(await waiter.done).stderr}`);
    const t0 = performance.now();
    gate.release();
    const w = await ok(waiter.done, `tsp -w ${last}`);
    const drainMs = w.exitAt - t0;
    const done = finishedOk((await ok(tsp(["-l"]), "tsp -l")).stdout);
    if (done !== s.jobs) throw new Error(`tsp drain: ${done} of ${s.jobs} jobs finished with exit code 0`);

    // The adds queue behind a held slot, as runway's adds meet no worker.
    const addGate = await holdSlot(dir, "gate-adds", tsp);
    gates.push(addGate);
    const addMs: number[] = [];
    for (let i = 0; i < s.adds; i++) {
      const r = await ok(tsp(["true"]), "tsp true");
      addMs.push(r.ms);
      last = Number(r.stdout.trim());
    }
    addGate.release();
    await ok(tsp(["-w", String(last)], DRAIN_TIMEOUT_MS), `tsp -w ${last}`);
    // `tsp -w` returns on the server's word that the job ended: nothing of tsp's own runs after it.
    return { startupMs: startup.ms, drainMs, drainIncludesStartup: false, tailMs: null, addMs };
  } finally {
    for (const g of gates) g.release();
    spawnSync("tsp", ["-K"], { env, stdio: "ignore", timeout: STEP_TIMEOUT_MS });
  }
}

function tspVersion(): string | null {
  const r = spawnSync("tsp", ["-V"], { encoding: "utf8", env: { ...cleanEnv(), TS_SOCKET: "/nonexistent/runway-bench-tsp-probe" } });
  if (r.error) return null;
  return /v(\d[\w.+-]*)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "unknown";
}

/** The tsp version, installing Debian's package when running as root; else null and why. */
function ensureTsp(log: (line: string) => void): { version: string } | { skipped: string } {
  const found = tspVersion();
  if (found) return { version: found };
  if (process.getuid?.() !== 0) {
    return { skipped: "task-spooler skipped: tsp is not installed; install it with `sudo apt-get install task-spooler` (the bench does so itself when run as root)." };
  }
  // apt's output goes to stderr, so that --json keeps stdout to itself.
  const apt = (args: string[]) =>
    spawnSync("apt-get", args, { stdio: ["ignore", 2, 2], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  log("tsp not found: apt-get install -y task-spooler");
  let r = apt(["install", "-y", "task-spooler"]);
  if (r.status !== 0 && !r.error) {
    // A machine whose package lists were never fetched cannot find the package at all.
    log("apt-get install failed; trying again after apt-get update");
    apt(["update"]);
    r = apt(["install", "-y", "task-spooler"]);
  }
  const version = tspVersion();
  if (version) return { version };
  return { skipped: `task-spooler skipped: \`apt-get install -y task-spooler\` did not give a tsp (${r.error?.message ?? `exit code ${r.status}`}).` };
}

export interface ShellTable {
  figures: ShellFigure[];
  text: ShellTableText;
  tspVersion: string | null;
  /** Why a side asked for did not run; also the first of the notes. */
  skipped: string[];
}

export async function runShellTable(opts: {
  names: ShellSideName[];
  sizes?: ShellSizes;
  runs: number;
  log: (line: string) => void;
}): Promise<ShellTable> {
  const s = opts.sizes ?? SHELL_SIZES;
  const { log } = opts;
  const skipped: string[] = [];
  const sides: ShellSideName[] = [];
  let version: string | null = null;
  if (opts.names.includes("runway-shell")) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    sides.push("runway-shell");
  }
  if (opts.names.includes("tsp")) {
    const t = ensureTsp(log);
    if ("skipped" in t) skipped.push(t.skipped);
    else {
      version = t.version;
      sides.push("tsp");
    }
  }

  if (sides.length === 0) return { figures: [], text: { configs: [], notes: skipped }, tspVersion: version, skipped };

  const bare: number[] = [];
  const nodeStarts: number[] = [];
  const bySide = new Map<ShellSideName, SideRun[]>(sides.map((n) => [n, []]));
  for (let run = 0; run < opts.runs; run++) {
    const tag = `run ${run + 1}/${opts.runs}`;
    bare.push(await bareSpawnMs(s.jobs, s.spawnWarmup));
    nodeStarts.push(await nodeStartMs(s.nodeStarts));
    log(`shell: bare spawn ${tag}: ${bare.at(-1)!.toFixed(3)} ms per spawn; node -e 0 ${nodeStarts.at(-1)!.toFixed(1)} ms`);
    // Alternating which side goes first keeps slow drift (page cache, CPU clocks) from favouring one.
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", `runway-bench-${side}-`));
      try {
        const r = side === "runway-shell" ? await runwayRun(dir, s) : await tspRun(dir, s);
        bySide.get(side)!.push(r);
        log(
          `shell: ${side} ${tag}: start-up ${r.startupMs.toFixed(1)} ms, drain ${r.drainMs.toFixed(0)} ms, ` +
            `add p50 ${quantile(r.addMs, 50).toFixed(1)} ms`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  const n = s.jobs;
  const overhead = (r: SideRun, i: number, withStartup: boolean) => {
    const wall = r.drainMs + (withStartup && !r.drainIncludesStartup ? r.startupMs : 0) - (!withStartup && r.drainIncludesStartup ? r.startupMs : 0);
    return (wall - n * bare[i]!) / n;
  };
  const per = (f: (r: SideRun, i: number) => number | null): ShellFigure["values"] => {
    const values: ShellFigure["values"] = {};
    for (const [name, runs] of bySide) {
      const xs = runs.map(f);
      if (xs.every((x): x is number => x !== null)) values[name] = summarize(xs);
    }
    return values;
  };
  const shared = (xs: number[]): ShellFigure["values"] => {
    const sm = summarize(xs);
    return Object.fromEntries(sides.map((n) => [n, sm]));
  };
  const jobs = n.toLocaleString("en-US");
  const figures: ShellFigure[] = [
    { id: "shell-bare-spawn", label: "bare spawn of /bin/true from Node, per spawn", unit: "ms", better: "lower", target: null, shared: true, values: shared(bare) },
    { id: "shell-node-start", label: "bare `node -e 0`, spawn to exit (p50)", unit: "ms", better: "lower", target: null, shared: true, values: shared(nodeStarts) },
    { id: "shell-startup", label: "start-up with no jobs", unit: "ms", better: "lower", target: null, values: per((r) => r.startupMs) },
    { id: "shell-drain", label: `drain ${jobs} \`true\` jobs, one at a time: wall`, unit: "ms", better: "lower", target: null, values: per((r) => r.drainMs) },
    { id: "shell-exit-tail", label: "  of it, last completion to the worker's exit", unit: "ms", better: "lower", target: null, values: per((r) => r.tailMs) },
    {
      id: "shell-overhead",
      label: "per-job overhead above a bare spawn, start-up in",
      unit: "ms",
      better: "lower",
      target: TARGET_OVERHEAD_MS,
      values: per((r, i) => overhead(r, i, true)),
    },
    {
      id: "shell-overhead-no-startup",
      label: "  same, start-up left out",
      unit: "ms",
      better: "lower",
      target: TARGET_OVERHEAD_MS,
      values: per((r, i) => overhead(r, i, false)),
    },
    { id: "shell-add-p50", label: `add one job, spawn to exit, p50 of ${s.adds}`, unit: "ms", better: "lower", target: TARGET_ADD_MS, values: per((r) => quantile(r.addMs, 50)) },
    { id: "shell-add-p90", label: `  same, p90 of ${s.adds}`, unit: "ms", better: "lower", target: TARGET_ADD_MS, values: per((r) => quantile(r.addMs, 90)) },
  ];

  const configs = [
    `one worker, one slot   runway: node dist/cli/main.js worker --until-empty (concurrency 1, prefetch 0, SQLite, durability normal);`,
    `                       task-spooler: tsp -S 1, output of each job kept in a file (its default), as runway keeps a log file per job.`,
  ];
  const notes = [
    ...skipped,
    `sizes: ${jobs} jobs of \`true\`, ${s.adds} adds per side per run; bare spawn ${jobs} (+${s.spawnWarmup} warm-up); node -e 0 ${s.nodeStarts} times.`,
    "every run of a side gets a new directory: runway's RUNWAY_HOME and RUNWAY_DB, tsp's TS_SOCKET and TMPDIR, so no one's own queue is touched.",
    `overhead = (drain wall − ${jobs} × bare spawn) / ${jobs}, the bare spawn (child_process.spawn of /bin/true awaited to its exit,`,
    "       one after another) measured in the same run; it is Node's spawn, so a side that forks from C can come out near or below zero.",
    `runway drain: the ${jobs} jobs are added first with one \`runway add --file\` (not timed); the clock runs from spawning the worker to`,
    "       its exit, so it holds the start-up (the row above: the same command on the same, still empty, database) and whatever",
    "       the worker does after its last job (\"of it\" row: from the last 'completed' line of its output to its exit; --until-empty",
    "       looks for an empty queue every 200 ms).",
    `tsp drain: tsp runs a job the moment it is queued on a free slot, so a gate job (\`cat\` on a FIFO) holds the slot while the ${jobs}`,
    `       \`tsp true\` are queued (not timed), and \`tsp -w <last id>\` is started ${WAITER_HEAD_START_MS} ms ahead; the clock runs from closing the`,
    "       FIFO (the gate job ends, tsp starts the next) to that `tsp -w` exiting; the gate job's own end is in it, about one job's worth.",
    "       tsp's start-up is its first call on a new socket (`tsp -S 1`, which forks the server); its drain runs with the server up, so",
    "       \"start-up in\" adds it, where runway's drain already holds its own.",
    "add: each timed from spawn to exit, one after another, onto a queue that runs nothing meanwhile (no runway worker; a gate job",
    "       holding tsp's slot): runway `node dist/cli/main.js add -- true` (it captures the environment, its default), `tsp true`.",
  ];
  return { figures, text: { configs, notes }, tspVersion: version, skipped };
}
