/**
 * Cron schedules through the built CLI: two worker processes on one SQLite file, each firing the
 * scheduler, and every tick's job added and run exactly once between them.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";

const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const tmp = tempDir();
let dbSeq = 0;
const workers: ChildProcess[] = [];

afterEach(() => {
  for (const w of workers.splice(0)) if (w.exitCode === null) w.kill("SIGKILL");
});
afterAll(() => tmp.cleanup());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function env(db: string) {
  return { ...process.env, RUNWAY_HOME: join(tmp.dir, "home"), RUNWAY_DB: db, NO_COLOR: "1" };
}

function cli(db: string) {
  return async (...args: string[]): Promise<Run> => {
    try {
      const r = await promisify(execFile)(process.execPath, [BIN, ...args], { env: env(db), cwd: tmp.dir });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
    }
  };
}

function startWorker(db: string): ChildProcess {
  const w = spawn(process.execPath, [BIN, "worker"], { env: env(db), cwd: tmp.dir, stdio: ["ignore", "ignore", "inherit"] });
  workers.push(w);
  return w;
}

const exited = (w: ChildProcess) => (w.exitCode !== null ? Promise.resolve(w.exitCode) : new Promise<number | null>((r) => w.once("exit", r)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface JobJson {
  id: string;
  status: string;
  attempts: number;
  key: string;
  name: string;
  runAt: string;
}

describe("runway cron", () => {
  it("two workers fire each tick of an every-second schedule once, and its job runs once", async () => {
    const db = join(tmp.dir, `cron-${++dbSeq}.db`);
    const runway = cli(db);
    const ran = join(tmp.dir, `ran-${dbSeq}.log`);
    const added = await runway("cron", "add", "pulse", "* * * * * *", "--json", "--shell", `echo "$RUNWAY_JOB_ID" >> ${ran}`);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: "pulse", pattern: "* * * * * *", kind: "shell", queue: "default" });
    const pair = [startWorker(db), startWorker(db)];
    await sleep(3500);
    expect((await runway("cron", "rm", "pulse")).code).toBe(0);
    // Whatever was fired before the schedule went is left to finish.
    let jobs: JobJson[] = [];
    for (let i = 0; i < 100; i++) {
      jobs = JSON.parse((await runway("ls", "--json", "-n", "1000")).stdout) as JobJson[];
      if (jobs.every((j) => j.status === "completed")) break;
      await sleep(100);
    }
    for (const w of pair) w.kill("SIGTERM");
    expect(await Promise.all(pair.map(exited))).toEqual([0, 0]);

    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.every((j) => j.status === "completed" && j.attempts === 1 && j.name === "pulse")).toBe(true);
    // One job per tick: the keys name distinct ticks, each a whole second, and each job's runAt is its tick.
    const ticks = jobs.map((j) => Number(/^cron:pulse:(\d+)$/.exec(j.key)![1]));
    expect(new Set(ticks).size).toBe(jobs.length);
    expect(ticks.every((t) => t % 1000 === 0)).toBe(true);
    expect(jobs.map((j) => Date.parse(j.runAt))).toEqual(ticks);
    expect(new Set(jobs.map((j) => j.runAt.slice(0, 19))).size).toBe(jobs.length);
    // And each ran once.
    const lines = readFileSync(ran, "utf8").trim().split("\n");
    expect(lines.sort()).toEqual(jobs.map((j) => j.id).sort());
  });

  it("lists and removes schedules, and says what is wrong in one line", async () => {
    const db = join(tmp.dir, `cron-${++dbSeq}.db`);
    const runway = cli(db);
    expect((await runway("cron", "ls")).stdout).toBe("no cron schedules\n");
    const nightly = await runway("cron", "add", "nightly", "0 3 * * *", "--timezone", "Europe/Paris", "-q", "ops", "-p", "high", "--no-env", "--", "sh", "-c", "echo hi");
    expect(nightly.code, nightly.stderr).toBe(0);
    expect(nightly.stdout).toMatch(/^cron nightly: "0 3 \* \* \*" \(Europe\/Paris\), next at \d{4}-\d\d-\d\dT(01|02):00:00\.000Z\n$/);
    await runway("cron", "add", "hourly", "0 * * * *", "--shell", "date");
    const list = JSON.parse((await runway("cron", "ls", "--json")).stdout);
    expect(list).toMatchObject([
      { name: "hourly", pattern: "0 * * * *", queue: "default", priority: "normal", shell: "date", command: null },
      { name: "nightly", timezone: "Europe/Paris", queue: "ops", priority: "high", command: ["sh", "-c", "echo hi"], shell: null, cwd: tmp.dir, env: null },
    ]);
    expect(Date.parse(list[0].nextAt) % 3_600_000).toBe(0);
    expect(list[0].env).toContain("PATH");
    const table = (await runway("cron", "ls")).stdout;
    expect(table).toMatch(/nightly\s+0 3 \* \* \*\s+Europe\/Paris\s+ops/);
    expect((await runway("cron", "rm", "hourly")).stdout).toBe("cron hourly removed\n");
    expect(JSON.parse((await runway("cron", "ls", "--json")).stdout).map((s: { name: string }) => s.name)).toEqual(["nightly"]);

    const cases: [string[], number, RegExp][] = [
      [["cron", "add", "x", "every day", "--", "true"], 2, /^runway: pattern: "every day" is not a cron expression .*e\.g\. "\*\/5 \* \* \* \*"/],
      [["cron", "add", "x", "61 * * * *", "--", "true"], 2, /^runway: pattern: /],
      [["cron", "add", "x", "0 3 * * *", "--timezone", "Mars/Olympus", "--", "true"], 2, /^runway: timezone: unknown timezone "Mars\/Olympus"; use an IANA name, e\.g\. "Europe\/Paris"/],
      [["cron", "add", "x", "0 3 * * *"], 2, /^runway: cron add: give a command after -- or --shell/],
      [["cron", "add", "x", "0 3 * * *", "-p", "urgent", "--", "true"], 2, /^runway: priority: unknown priority "urgent"/],
      [["cron", "rm", "ghost"], 1, /^runway: no cron schedule named "ghost"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runway(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    expect(JSON.parse((await runway("cron", "ls", "--json")).stdout)).toHaveLength(1);
  });

  it("refuses a bad expression before creating a database", async () => {
    const db = join(tmp.dir, `cron-${++dbSeq}.db`);
    const r = await cli(db)("cron", "add", "x", "nope", "--", "true");
    expect(r.code).toBe(2);
    expect(existsSync(db)).toBe(false);
  });
});
