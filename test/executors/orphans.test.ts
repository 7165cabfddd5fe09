import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/core/job.js";
import { type RunningRecord, reapOrphans, runningDir } from "../../src/executors/orphans.js";
import { type ShellPayload, ShellFailure, shellHandler } from "../../src/executors/shell.js";
import type { JobContext } from "../../src/runtime/worker.js";
import { assertBuilt } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const SHELL_JS = pathToFileURL(new URL("../../dist/executors/shell.js", import.meta.url).pathname).href;
const JOB_ID = "01ORPHANTEST";
/** The job from the issue: a shell that leaves a grandchild running in its group. */
const COMMAND = "sh -c 'echo $$ > pidfile; sleep 100 & echo $! >> pidfile; wait'";

/** A worker reduced to one shell attempt; prints how it ended. */
const WORKER_SCRIPT = `
import { shellHandler } from ${JSON.stringify(SHELL_JS)};
const [home, shell, grace] = process.argv.slice(2);
const controller = new AbortController();
const job = { id: ${JSON.stringify(JOB_ID)}, payload: { command: null, shell, cwd: home, env: null } };
const ctx = { signal: controller.signal, attempt: 1, workerId: "orphan-test", progress: async () => {}, log: () => {}, recordRun: async () => {} };
shellHandler({ home, killGraceMs: Number(grace) })(job, ctx).then(
  (r) => console.log("done", r.exitCode),
  (e) => console.log("failed", e.message),
);
`;

const cleanups: (() => void)[] = [];
const groups: number[] = [];
const children: ChildProcess[] = [];

beforeAll(() => assertBuilt());

afterEach(() => {
  // A failing test must not leave sleeps behind on a shared machine.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const c of cleanups.splice(0)) c();
});

function home(): string {
  const tmp = tempDir("runway-orphans-");
  cleanups.push(tmp.cleanup);
  return realpathSync(tmp.dir);
}

function stat(pid: number): { state: string; pgrp: number; startTime: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0]!, pgrp: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return null;
  }
}

/** Gone, or a zombie: PID 1 here reaps orphans slowly, and a zombie runs nothing. */
function dead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  const s = stat(pid);
  return s === null ? !existsSync(`/proc/${pid}`) : s.state === "Z" || s.state === "X";
}

async function until<T>(what: string, fn: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function expectDeadWithin(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !pids.every(dead)) await sleep(20);
  expect(pids.filter((p) => !dead(p))).toEqual([]);
}

/** The watchdogs serving a worker process, found by the name they run under. */
function watchdogsOf(workerPid: number): number[] {
  const found: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, "latin1").split("\0");
    } catch {
      continue;
    }
    const at = argv.indexOf("runway-watchdog");
    if (at > 0 && argv[at + 1] === String(workerPid) && !dead(Number(e))) found.push(Number(e));
  }
  return found;
}

function records(h: string): string[] {
  return existsSync(runningDir(h)) ? readdirSync(runningDir(h)) : [];
}

interface WorkerRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function startWorker(h: string, shell: string, graceMs: number): WorkerRun {
  const script = join(h, "worker.mjs");
  writeFileSync(script, WORKER_SCRIPT);
  const child = spawn(process.execPath, [script, h, shell, String(graceMs)], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return { child, output: () => out, exited };
}

/** The job's two pids, once it has written both and its record is on disk. */
async function jobStarted(h: string, run: WorkerRun): Promise<{ pids: number[]; record: RunningRecord }> {
  const pidfile = join(h, "pidfile");
  const recordFile = join(runningDir(h), `${JOB_ID}.1.json`);
  const pids = await until(
    `the job to start (output: ${run.output()})`,
    () => {
      const lines = existsSync(pidfile) ? readFileSync(pidfile, "utf8").split("\n").filter(Boolean) : [];
      return lines.length === 2 && existsSync(recordFile) && lines.map(Number);
    },
    8_000,
  );
  const record = JSON.parse(readFileSync(recordFile, "utf8")) as RunningRecord;
  groups.push(record.pgid);
  return { pids, record };
}

/** A process in a group of its own, as a shell attempt's leader is. */
function detachedSleep(script = "sleep 100"): { pid: number; startTime: number } {
  const child = spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" });
  children.push(child);
  const pid = child.pid!;
  groups.push(pid);
  return { pid, startTime: stat(pid)!.startTime };
}

/** A pid whose process has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn("true", { stdio: "ignore" });
  await new Promise((done) => child.once("exit", done));
  return child.pid!;
}

function writeRecord(h: string, name: string, rec: RunningRecord): string {
  mkdirSync(runningDir(h), { recursive: true });
  const path = join(runningDir(h), name);
  writeFileSync(path, JSON.stringify(rec));
  return path;
}

function recordOf(over: Partial<RunningRecord> & Pick<RunningRecord, "pgid" | "startTime" | "workerPid">): RunningRecord {
  return { pid: over.pgid, jobId: "01RECORDED", attempt: 1, workerStartTime: null, host: hostname(), bootId: null, ...over };
}

describe("orphaned shell jobs", () => {
  it("a worker killed with kill -9 takes its shell job's process group with it", async () => {
    const h = home();
    const run = startWorker(h, COMMAND, 5_000);
    const { pids: printed, record } = await jobStarted(h, run);
    // The group's leader is the /bin/sh that runs the command line; the inner sh and the sleep are in its group.
    const leader = stat(printed[0]!)!.pgrp;
    expect(stat(printed[1]!)!.pgrp).toBe(leader);
    const pids = [leader, ...printed];
    expect(record).toMatchObject({
      pgid: leader,
      pid: leader,
      startTime: stat(leader)!.startTime,
      jobId: JOB_ID,
      attempt: 1,
      workerPid: run.child.pid,
      host: hostname(),
    });
    expect(pids.some(dead)).toBe(false);
    expect(watchdogsOf(run.child.pid!)).toHaveLength(1);

    run.child.kill("SIGKILL");
    // SIGTERM from the watchdog ends both at once; the 5 s grace is not waited for.
    await expectDeadWithin(pids, 2_000);
    await run.exited;
    expect(run.output()).toBe("");

    // The record stays for the next worker, which finds nothing left to kill and drops it.
    expect(records(h)).toEqual([`${JOB_ID}.1.json`]);
    expect(await reapOrphans(h)).toEqual({ killed: 0 });
    expect(records(h)).toEqual([]);
  });

  it("the watchdog SIGKILLs a group that ignores SIGTERM, then exits", async () => {
    const h = home();
    const run = startWorker(h, "trap '' TERM; echo $$ > pidfile; sleep 100 & echo $! >> pidfile; wait", 300);
    const { pids } = await jobStarted(h, run);
    const watchdogs = watchdogsOf(run.child.pid!);
    expect(watchdogs).toHaveLength(1);
    run.child.kill("SIGKILL");
    await expectDeadWithin(pids, 3_000);
    await expectDeadWithin(watchdogs, 3_000);
  });

  it("a worker that exits normally leaves no process, record or watchdog behind", async () => {
    const h = home();
    // The job leaves a sleep running in its group, which the attempt ends when the shell exits.
    const shell = "echo $$ > pidfile; sleep 100 & echo $! >> pidfile; while [ ! -e go ]; do sleep 0.02; done";
    const run = startWorker(h, shell, 5_000);
    const { pids } = await jobStarted(h, run);
    const watchdogs = watchdogsOf(run.child.pid!);
    expect(watchdogs).toHaveLength(1);
    writeFileSync(join(h, "go"), "");
    await run.exited;
    expect(run.output()).toBe("done 0\n");
    expect(run.child.exitCode).toBe(0);
    expect(records(h)).toEqual([]);
    await expectDeadWithin(pids, 2_000);
    // It exits at the worker's exit, without waiting out any grace: it held nothing.
    await expectDeadWithin(watchdogs, 2_000);
  });

  it("reapOrphans ends the recorded groups of a dead worker, SIGKILLing what ignores SIGTERM", async () => {
    const h = home();
    const worker = await deadPid();
    const plain = detachedSleep("sleep 100 & wait");
    const stubborn = detachedSleep("trap '' TERM; sleep 100 & wait");
    const plainRecord = writeRecord(h, "01A.1.json", recordOf({ pgid: plain.pid, startTime: plain.startTime, workerPid: worker }));
    writeRecord(h, "01B.2.json", recordOf({ pgid: stubborn.pid, startTime: stubborn.startTime, workerPid: worker }));
    expect(existsSync(plainRecord)).toBe(true);

    const t0 = Date.now();
    expect(await reapOrphans(h, { graceMs: 300 })).toEqual({ killed: 2 });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(dead(plain.pid)).toBe(true);
    expect(dead(stubborn.pid)).toBe(true);
    expect(records(h)).toEqual([]);
  });

  it("reapOrphans never kills a process that only has the recorded pid", async () => {
    const h = home();
    const other = detachedSleep();
    // The group once recorded under this pid is gone; the pid now belongs to a later process.
    writeRecord(h, "01A.1.json", recordOf({ pgid: other.pid, startTime: other.startTime - 1, workerPid: await deadPid() }));
    expect(await reapOrphans(h, { graceMs: 300 })).toEqual({ killed: 0 });
    await sleep(100);
    expect(dead(other.pid)).toBe(false);
    expect(records(h)).toEqual([]);
  });

  it("reapOrphans leaves the records of live workers and of other hosts alone", async () => {
    const h = home();
    const mine = detachedSleep();
    const elsewhere = detachedSleep();
    const self = stat(process.pid)!.startTime;
    writeRecord(h, "01A.1.json", recordOf({ pgid: mine.pid, startTime: mine.startTime, workerPid: process.pid, workerStartTime: self }));
    writeRecord(h, "01B.1.json", recordOf({ pgid: elsewhere.pid, startTime: elsewhere.startTime, workerPid: await deadPid(), host: `not-${hostname()}` }));
    expect(await reapOrphans(h, { graceMs: 300 })).toEqual({ killed: 0 });
    expect(dead(mine.pid)).toBe(false);
    expect(dead(elsewhere.pid)).toBe(false);
    expect(records(h).sort()).toEqual(["01A.1.json", "01B.1.json"]);

    // A live pid that is no longer the worker (reused) does not protect the group.
    writeRecord(h, "01A.1.json", recordOf({ pgid: mine.pid, startTime: mine.startTime, workerPid: process.pid, workerStartTime: self - 1 }));
    expect(await reapOrphans(h, { graceMs: 300 })).toEqual({ killed: 1 });
    expect(dead(mine.pid)).toBe(true);
    expect(records(h)).toEqual(["01B.1.json"]);
  });

  it("an attempt's record lives exactly as long as its process group, whatever ends it", async () => {
    const h = home();
    let seq = 0;
    const run = (shell: string, controller = new AbortController()) => {
      const job = { id: `01INPROC${++seq}`, payload: { command: null, shell, cwd: h, env: null } } as Job<ShellPayload>;
      const ctx: JobContext = { signal: controller.signal, attempt: 2, workerId: "w", progress: async () => {}, log: () => {}, recordRun: async () => {} };
      const done = Promise.resolve(shellHandler({ home: h, killGraceMs: 300 })(job, ctx));
      done.catch(() => {});
      return { file: join(runningDir(h), `${job.id}.2.json`), done, controller };
    };

    const aborted = run("echo $$ > pidfile; sleep 100");
    await until("the record", () => existsSync(aborted.file) && existsSync(join(h, "pidfile")), 8_000);
    const pid = Number(readFileSync(join(h, "pidfile"), "utf8"));
    groups.push(pid);
    expect(JSON.parse(readFileSync(aborted.file, "utf8"))).toMatchObject({ pgid: pid, attempt: 2, workerPid: process.pid });
    // A live worker's attempt is not an orphan.
    expect(await reapOrphans(h)).toEqual({ killed: 0 });
    expect(existsSync(aborted.file)).toBe(true);
    aborted.controller.abort(new Error("the job was cancelled"));
    await expect(aborted.done).rejects.toBeInstanceOf(ShellFailure);
    expect(records(h)).toEqual([]);

    await expect(run("exit 3").done).rejects.toThrow("exited with code 3");
    await expect(run("sleep 100 & exit 0").done).resolves.toMatchObject({ exitCode: 0 });
    expect(records(h)).toEqual([]);
  });
});
