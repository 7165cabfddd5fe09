/**
 * The built CLI, run as a user runs it: child processes against a temporary RUNWAY_HOME and a
 * SQLite file, real shell commands, real exit codes.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, type Run, cli as runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
let dbSeq = 0;

afterAll(() => tmp.cleanup());

function cli(db: string) {
  return runCli(tmp.dir, db);
}

function freshCli() {
  return cli(join(tmp.dir, `cli-${++dbSeq}.db`));
}

const id = (r: Run) => r.stdout.trim();

describe("runway CLI", () => {
  it("adds a command, runs it with a worker, and shows its output, exit code and attempts", async () => {
    const runway = freshCli();
    const added = await runway("add", "--name", "greet", "--", "sh", "-c", "echo hello from $0; echo oops >&2", "runway");
    expect(added.code).toBe(0);
    const jobId = id(added);
    expect(jobId).toMatch(/^[0-9a-z]{26}$/);
    const ls = await runway("ls");
    expect(ls.stdout).toMatch(new RegExp(`${jobId}\\s+default\\s+queued\\s+normal`));
    expect(ls.stdout).toContain("greet");
    const worker = await runway("worker", "--until-empty");
    expect(worker.code).toBe(0);
    expect(worker.stdout).toContain("queue default completed: all jobs finished");
    const show = JSON.parse((await runway("show", jobId, "--json")).stdout);
    expect(show).toMatchObject({ id: jobId, status: "completed", exitCode: 0, attempts: 1, command: ["sh", "-c", "echo hello from $0; echo oops >&2", "runway"], cwd: tmp.dir, name: "greet" });
    expect(show.env).toContain("PATH");
    expect(show.attemptsLog).toMatchObject([{ outcome: "completed", exitCode: 0 }]);
    const logs = await runway("logs", jobId);
    expect(logs.stdout).toContain("hello from runway");
    expect(logs.stdout).toContain("oops");
    const human = await runway("show", jobId);
    expect(human.stdout).toMatch(/exit code\s+0/);
    expect(human.stdout).toContain("hello from runway");
  });

  it("runway retry of a failed job starts a new attempt: show lists each run once, logs prints the latest, each has its own log file", async () => {
    const runway = freshCli();
    const jobId = id(await runway("add", "--", "sh", "-c", 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "run $n"; exit 1'));
    for (let round = 1; round <= 3; round++) {
      if (round > 1) expect((await runway("retry", jobId)).code).toBe(0);
      expect((await runway("worker", "--until-empty")).code).toBe(1);
    }
    const show = JSON.parse((await runway("show", jobId, "--json")).stdout);
    expect(show).toMatchObject({ status: "failed", attempts: 1, attempt: 3 });
    expect(show.attemptsLog.map((a: { attempt: number; outcome: string }) => [a.attempt, a.outcome])).toEqual([
      [1, "failed"],
      [2, "failed"],
      [3, "failed"],
    ]);
    const human = (await runway("show", jobId)).stdout;
    for (const n of [1, 2, 3]) expect(human.match(new RegExp(`attempt ${n}:`, "g"))).toHaveLength(1);
    const logs = (await runway("logs", jobId)).stdout;
    expect(logs).toContain("run 3");
    expect(logs).not.toContain("run 1");
    expect((await runway("logs", jobId, "--attempt", "1")).stdout).toContain("run 1");
    expect(readdirSync(join(tmp.dir, "home", "logs", jobId)).sort()).toEqual(["1.log", "2.log", "3.log"]);
  });

  it("a failing command is retried, then fails with its exit code; wait says so", async () => {
    const runway = freshCli();
    const jobId = id(await runway("add", "--retries", "1", "--backoff", "immediate", "--", "sh", "-c", "echo trying; exit 3"));
    const worker = await runway("worker", "--until-empty");
    expect(worker.code).toBe(1);
    const show = JSON.parse((await runway("show", jobId, "--json")).stdout);
    expect(show).toMatchObject({ status: "failed", exitCode: 3, attempts: 2 });
    expect(show.error).toMatch(/exited with code 3/);
    expect(show.attemptsLog.map((a: { exitCode: number }) => a.exitCode)).toEqual([3, 3]);
    expect((await runway("wait", jobId)).code).toBe(1);
  });

  it("runs in priority order, honours dependencies, cancel cascades, retry restores", async () => {
    const runway = freshCli();
    const log = join(tmp.dir, `order-${dbSeq}.log`);
    const low = id(await runway("add", "-p", "low", "--shell", `echo low >> ${log}`));
    const first = id(await runway("add", "-p", "P1", "--shell", `echo first >> ${log}`));
    const after = id(await runway("add", "--after", first, "--shell", `echo after >> ${log}`));
    const doomed = id(await runway("add", "--shell", "echo doomed"));
    const child = id(await runway("add", "--after", doomed, "--shell", "echo child"));
    expect((await runway("cancel", doomed)).stdout).toContain("cancelled");
    expect(JSON.parse((await runway("show", child, "--json")).stdout)).toMatchObject({ status: "skipped" });
    expect((await runway("retry", doomed)).stdout).toContain("queued");
    expect(JSON.parse((await runway("show", child, "--json")).stdout)).toMatchObject({ status: "blocked" });
    expect((await runway("worker", "--until-empty")).code).toBe(0);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["first", "after", "low"]);
    const all = JSON.parse((await runway("ls", "--json")).stdout) as { id: string; status: string }[];
    expect(all.map((j) => j.status).every((s) => s === "completed")).toBe(true);
    expect(new Set(all.map((j) => j.id))).toEqual(new Set([low, first, after, doomed, child]));
  });

  it("moves, pauses and sets a queue's concurrency", async () => {
    const runway = freshCli();
    const a = id(await runway("add", "-q", "q", "--", "true"));
    const b = id(await runway("add", "-q", "q", "--", "true"));
    await runway("move", b, "--top");
    const order = JSON.parse((await runway("ls", "-q", "q", "--json")).stdout).map((j: { id: string }) => j.id);
    expect(order).toEqual([b, a]);
    expect((await runway("pause", "q")).stdout).toContain("queue q paused");
    expect((await runway("queue", "set", "q", "--concurrency", "2")).stdout).toContain("concurrency 2");
    const queues = JSON.parse((await runway("queue", "ls", "--json")).stdout);
    expect(queues).toMatchObject([{ queue: "q", state: "paused", concurrency: 2, counts: { queued: 2 } }]);
    await runway("resume", "q");
    expect((await runway("worker", "--until-empty", "-q", "q", "-c", "2")).code).toBe(0);
    expect((await runway("wait", "--queue", "q")).code).toBe(0);
  });

  it("adds jobs from a JSON file, with refs between them", async () => {
    const runway = freshCli();
    const { writeFileSync } = await import("node:fs");
    const file = join(tmp.dir, `jobs-${dbSeq}.json`);
    writeFileSync(
      file,
      JSON.stringify([
        { ref: "build", name: "build", command: ["true"], priority: "high" },
        { name: "test", command: ["true"], dependsOn: ["build"], retries: 2 },
      ]),
    );
    const added = JSON.parse((await runway("add", "--file", file, "--json")).stdout);
    expect(added).toHaveLength(2);
    expect(added[1]).toMatchObject({ name: "test", status: "blocked", maxAttempts: 3, dependsOn: [added[0].id] });
  });

  it("a worker killed with kill -9 mid-job: its process group dies with it, and the job runs again after a restart", async () => {
    const db = join(tmp.dir, `kill-${++dbSeq}.db`);
    const runway = cli(db);
    const dir = join(tmp.dir, `kill-${dbSeq}`);
    const { mkdirSync, existsSync, readFileSync } = await import("node:fs");
    mkdirSync(dir);
    const jobId = id(
      await runway("add", "--shell", `if [ -f ${dir}/marker ]; then echo second run; else touch ${dir}/marker; sh -c 'echo $$ > ${dir}/pids; sleep 60' & wait; fi`),
    );
    const { spawn } = await import("node:child_process");
    const worker = spawn(process.execPath, [BIN, "worker", "--lease", "1s"], {
      env: { ...process.env, RUNWAY_HOME: join(tmp.dir, "home"), RUNWAY_DB: db },
      stdio: "ignore",
    });
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(dir, "pids")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(join(dir, "pids"), "utf8").trim());
    worker.kill("SIGKILL");
    await new Promise((r) => worker.once("exit", r));
    // The job's processes go with the worker: at once through its watchdog, or at the latest
    // when the next worker starts and stops what dead workers left (a zombie counts as gone).
    const gone = () => {
      try {
        process.kill(pid, 0);
        return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
      } catch {
        return true;
      }
    };
    // A new worker takes the job over once its lease has run out, and runs it to the end.
    const again = await runway("worker", "--until-empty", "--lease", "1s");
    expect(again.code).toBe(0);
    const until = Date.now() + 3000;
    while (!gone() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(gone()).toBe(true);
    const show = JSON.parse((await runway("show", jobId, "--json")).stdout);
    expect(show.status).toBe("completed");
    expect(show.attemptsLog.map((a: { outcome: string }) => a.outcome)).toEqual(["lost", "completed"]);
    expect((await runway("logs", jobId)).stdout).toContain("second run");
  });

  it("a timeout ends the whole process tree; hooks run on failure and on drain; the worker logs JSON lines off a terminal", async () => {
    const runway = freshCli();
    const dir = join(tmp.dir, `hooks-${dbSeq}`);
    const { mkdirSync, readFileSync } = await import("node:fs");
    mkdirSync(dir);
    const jobId = id(await runway("add", "--timeout", "1s", "--name", "hangs", "--shell", `sh -c 'echo $$ > ${dir}/child; sleep 60' & echo $! > ${dir}/bg; wait`));
    const worker = await runway(
      "worker",
      "--until-empty",
      "--on-failure",
      `echo "$RUNWAY_JOB_ID $RUNWAY_JOB_ERROR" > ${dir}/failed`,
      "--on-drain",
      `echo "$RUNWAY_QUEUE" > ${dir}/drained`,
    );
    expect(worker.code).toBe(1);
    const lines = worker.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; msg: string });
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(["ready", "started", "failed", "drained"]));
    const show = JSON.parse((await runway("show", jobId, "--json")).stdout);
    expect(show.status).toBe("failed");
    expect(show.error).toMatch(/timed out after 1\.0s/);
    for (const f of ["child", "bg"]) {
      const pid = Number(readFileSync(join(dir, f), "utf8"));
      let alive = true;
      try {
        process.kill(pid, 0);
        alive = !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
      } catch {
        alive = false;
      }
      expect(alive, `${f} ${pid}`).toBe(false);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(join(dir, "failed"), "utf8")).toMatch(new RegExp(`^${jobId} timed out`));
    expect(readFileSync(join(dir, "drained"), "utf8").trim()).toBe("default");
  });

  it("logs -f follows a running job to its end; stats gives an ETA", async () => {
    const runway = freshCli();
    const jobId = id(await runway("add", "--shell", "for i in 1 2 3; do echo line $i; sleep 0.3; done"));
    const { spawn } = await import("node:child_process");
    const env = { ...process.env, RUNWAY_HOME: join(tmp.dir, "home"), RUNWAY_DB: join(tmp.dir, `cli-${dbSeq}.db`) };
    const worker = spawn(process.execPath, [BIN, "worker"], { env, stdio: "ignore" });
    try {
      const followed = await runway("logs", "-f", jobId);
      expect(followed.code).toBe(0);
      expect(followed.stdout).toBe("line 1\nline 2\nline 3\n");
    } finally {
      worker.kill("SIGTERM");
      await new Promise((r) => worker.once("exit", r));
    }
    const stats = JSON.parse((await runway("stats", "--json")).stdout);
    expect(stats[0]).toMatchObject({ queue: "default", etaMs: 0, counts: { completed: 1 } });
  });

  it("says what is wrong in one line, with exit 2 for bad input and 1 for a failed operation", async () => {
    const runway = freshCli();
    const cases: [string[], number, RegExp][] = [
      [["add", "--timeout", "soon", "--", "true"], 2, /^runway: job\.timeout: not a duration/],
      [["add", "-p", "urgent", "--", "true"], 2, /^runway: job\.priority: unknown priority "urgent"/],
      [["add", "--after", "nope", "--", "true"], 2, /^runway: job\.dependsOn: unknown job nope/],
      [["add", "--file", join(tmp.dir, "missing.json")], 2, /^runway: file: .*missing\.json does not exist/],
      [["add"], 2, /^runway: add: give a command after --/],
      [["show", "01j0000000000000000000000x"], 1, /^runway: job 01j0000000000000000000000x does not exist/],
      [["pause", "ghost"], 1, /^runway: queue "ghost" does not exist/],
      [["ls", "--status", "done"], 2, /^runway: status: unknown status "done"/],
      [["move", "x"], 2, /^runway: move: give exactly one of/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runway(...args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const unknownFlag = await runway("ls", "--colour");
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/unknown option '--colour'/);
  });
});
