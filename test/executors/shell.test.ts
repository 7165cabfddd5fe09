import { chmodSync, existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { Job } from "../../src/core/job.js";
import {
  type ShellOptions,
  type ShellPayload,
  ShellFailure,
  shellHandler,
  shellLogPath,
} from "../../src/executors/shell.js";
import { PermanentFailure, type JobContext } from "../../src/runtime/worker.js";
import { tempDir } from "../helpers/tmp.js";

const cleanups: (() => void)[] = [];
const strays: number[] = [];

afterEach(() => {
  // A failing test must not leave sleeps behind on a shared machine.
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const c of cleanups.splice(0)) c();
});

function home(): string {
  const tmp = tempDir("runway-shell-");
  cleanups.push(tmp.cleanup);
  return realpathSync(tmp.dir);
}

let seq = 0;
function jobOf(payload: ShellPayload): Job<ShellPayload> {
  const now = Date.now();
  return {
    id: `01SHELLTEST${String(++seq).padStart(4, "0")}`,
    queue: "default",
    kind: "shell",
    payload,
    status: "running",
    priority: "normal",
    position: 0,
    name: null,
    labels: {},
    dependsOn: [],
    maxAttempts: 1,
    attempts: 1,
    attempt: 1,
    backoff: { strategy: "exponential", baseMs: 1000, capMs: 60_000, jitter: 0 },
    timeoutMs: null,
    key: null,
    runAt: now,
    result: null,
    error: null,
    reason: null,
    progress: null,
    exitCode: null,
    target: null,
    remote: null,
    escalatedFrom: null,
    escalatedTo: null,
    workerId: "test-worker",
    leaseExpiresAt: now + 30_000,
    createdAt: now,
    startedAt: now,
    finishedAt: null,
  };
}

interface Run {
  job: Job<ShellPayload>;
  lines: string[];
  controller: AbortController;
  done: Promise<Awaited<ReturnType<ReturnType<typeof shellHandler>>>>;
  /** Resolves with the first line that matches. */
  line(re: RegExp): Promise<string>;
}

function start(
  payload: Partial<ShellPayload>,
  opts: Partial<ShellOptions> & { home: string },
  controller = new AbortController(),
): Run {
  const job = jobOf({ command: null, shell: null, cwd: opts.home, env: null, ...payload });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const ctx: JobContext = {
    signal: controller.signal,
    attempt: 1,
    workerId: "test-worker",
    recordRun: async () => {},
    progress: async () => {},
    log: (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.re.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    },
  };
  const done = Promise.resolve(shellHandler(opts)(job, ctx));
  done.catch(() => {});
  const line = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return resolve(seen);
      waiters.push({ re, resolve });
      done.then(
        () => reject(new Error(`finished without a line matching ${re}`)),
        (err) => reject(new Error(`failed without a line matching ${re}: ${err}`)),
      );
    });
  return { job, lines, controller, done, line };
}

async function failure(p: Promise<unknown>): Promise<ShellFailure> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShellFailure);
  return err as ShellFailure;
}

/** Gone, or a zombie: where PID 1 does not reap orphans, a killed grandchild stays one. */
function dead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return existsSync("/proc/self/stat");
  }
}

async function expectDead(pids: number[], withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && !pids.every(dead)) await sleep(25);
  expect(pids.filter((p) => !dead(p))).toEqual([]);
}

/** Pids the script printed as `pid <n>`. */
async function pidsFrom(run: Run, count: number): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = run.lines.filter((l) => l.startsWith("pid ")).map((l) => Number(l.slice(4)));
    if (pids.length >= count) {
      strays.push(...pids);
      return pids;
    }
    if (Date.now() > deadline) throw new Error(`expected ${count} pids, saw ${JSON.stringify(run.lines)}`);
    await sleep(10);
  }
}

describe("shell executor", () => {
  it("runs argv without a shell: spaces, quotes and ; arrive as written", async () => {
    const h = home();
    const args = ["a b", `it's "quoted"`, "x; echo injected", "$HOME", "*"];
    const run = start({ command: ["printf", "[%s]\\n", ...args] }, { home: h });
    const result = await run.done;
    expect(result.exitCode).toBe(0);
    expect(result.signal).toBeNull();
    expect(run.lines).toEqual(args.map((a) => `[${a}]`));
    expect(result.tail).toBe(args.map((a) => `[${a}]\n`).join(""));
    expect(result.logPath).toBe(shellLogPath(h, run.job.id, 1));
    expect(result.logPath).toBe(join(h, "logs", run.job.id, "1.log"));
    expect(readFileSync(result.logPath, "utf8")).toBe(result.tail);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("runs a command line with /bin/sh -c in shell mode", async () => {
    const run = start({ shell: "for w in one two; do echo $w; done | tr a-z A-Z" }, { home: home() });
    const result = await run.done;
    expect(result.exitCode).toBe(0);
    expect(run.lines).toEqual(["ONE", "TWO"]);
  });

  it("fails a non-zero exit with the code and the last line of output", async () => {
    const run = start({ shell: "echo to-out; echo to-err >&2; exit 3" }, { home: home() });
    const err = await failure(run.done);
    expect(err.message).toBe("exited with code 3: to-err");
    expect(err.exitCode).toBe(3);
    expect(err.signal).toBeNull();
    expect(err.tail).toBe("to-out\nto-err\n");
    expect(readFileSync(err.logPath, "utf8")).toBe("to-out\nto-err\n");
    expect(run.lines).toEqual(["to-out", "to-err"]);
  });

  it("says which signal killed the process", async () => {
    const err = await failure(start({ shell: "kill -KILL $$" }, { home: home() }).done);
    expect(err.message).toBe("killed by SIGKILL");
    expect(err.signal).toBe("SIGKILL");
    expect(err.exitCode).toBeNull();
  });

  it("splits output into lines across writes, and cuts a very long line", async () => {
    const run = start(
      { shell: "printf 'par'; sleep 0.05; printf 'tial\\nnext'; head -c 10000 /dev/zero | tr '\\0' x; printf '\\nlast'" },
      { home: home() },
    );
    const result = await run.done;
    expect(run.lines).toHaveLength(3);
    expect(run.lines[0]).toBe("partial");
    expect(run.lines[1]!.startsWith("nextxxx")).toBe(true);
    expect(run.lines[1]!.length).toBeLessThan(4200);
    expect(run.lines[2]).toBe("last");
    // The log file keeps everything.
    expect(readFileSync(result.logPath, "utf8")).toHaveLength("partial\nnext".length + 10000 + "\nlast".length);
  });

  it("keeps only the last tailBytes, without splitting a character", async () => {
    const result = await start({ shell: "echo 0123456789; echo ééé" }, { home: home(), tailBytes: 4 }).done;
    // ééé\n is 7 bytes; the last 4 start inside an é, which is dropped rather than garbled.
    expect(result.tail).toBe("é\n");
  });

  it("runs in cwd with exactly the captured environment plus the job's id and attempt", async () => {
    const h = home();
    const cwd = join(h, "work dir");
    await import("node:fs/promises").then((fs) => fs.mkdir(cwd));
    process.env.RUNWAY_SHELL_TEST_WORKER_ONLY = "leaked";
    try {
      const script = 'pwd; echo "A=$RUNWAY_SHELL_TEST_A"; echo "W=${RUNWAY_SHELL_TEST_WORKER_ONLY-unset}"; echo "$RUNWAY_JOB_ID $RUNWAY_ATTEMPT"';
      const captured = start({ shell: script, cwd, env: { RUNWAY_SHELL_TEST_A: "from submit", PATH: process.env.PATH ?? "/usr/bin:/bin" } }, { home: h });
      await captured.done;
      expect(captured.lines).toEqual([cwd, "A=from submit", "W=unset", `${captured.job.id} 1`]);

      const inherited = start({ shell: script, cwd, env: null }, { home: h });
      await inherited.done;
      expect(inherited.lines.slice(1)).toEqual(["A=", "W=leaked", `${inherited.job.id} 1`]);
    } finally {
      delete process.env.RUNWAY_SHELL_TEST_WORKER_ONLY;
    }
  });

  it("takes PATH from the captured environment", async () => {
    const h = home();
    const bin = join(h, "bin");
    await import("node:fs/promises").then((fs) => fs.mkdir(bin));
    writeFileSync(join(bin, "only-here"), "#!/bin/sh\necho found me\n", { mode: 0o755 });
    const run = start({ command: ["only-here"], env: { PATH: `${bin}:/usr/bin:/bin` } }, { home: h });
    await run.done;
    expect(run.lines).toEqual(["found me"]);
  });

  it("names a command that does not exist", async () => {
    const err = await failure(start({ command: ["runway-no-such-command", "x"] }, { home: home() }).done);
    expect(err.message).toBe('cannot start "runway-no-such-command": command not found (ENOENT)');
    expect(err.exitCode).toBeNull();
  });

  it("names a working directory that does not exist", async () => {
    const h = home();
    const cwd = join(h, "nope");
    const err = await failure(start({ command: ["true"], cwd }, { home: h }).done);
    expect(err.message).toBe(`cannot start "true": working directory ${cwd} does not exist`);
  });

  it("says when a file cannot be executed", async () => {
    const h = home();
    writeFileSync(join(h, "not-executable"), "echo hi\n");
    chmodSync(join(h, "not-executable"), 0o644);
    const err = await failure(start({ command: ["./not-executable"] }, { home: h }).done);
    expect(err.message).toBe('cannot start "./not-executable": permission denied (EACCES)');
  });

  it("fails the attempt, without starting anything, when the log cannot be written", async () => {
    const h = home();
    const notADir = join(h, "file");
    writeFileSync(notADir, "");
    const err = await failure(start({ shell: "touch started", cwd: h }, { home: notADir }).done);
    expect(err.message).toMatch(/^cannot write the log .*file.logs/);
    expect(existsSync(join(h, "started"))).toBe(false);
  });

  it("refuses a payload with both or neither of command and shell, for good", async () => {
    const h = home();
    await expect(start({ command: ["true"], shell: "true" }, { home: h }).done).rejects.toBeInstanceOf(PermanentFailure);
    await expect(start({}, { home: h }).done).rejects.toThrow(/exactly one of command and shell/);
  });

  it("on abort, stops the whole process tree and fails with the reason", async () => {
    const run = start(
      { shell: "sleep 100 & echo pid $!; sh -c 'sleep 100 & echo pid $!; sleep 100; wait' & echo pid $!; wait" },
      { home: home() },
    );
    const pids = await pidsFrom(run, 3);
    expect(pids.some(dead)).toBe(false);
    const t0 = Date.now();
    run.controller.abort(new Error("timed out after 2s"));
    const err = await failure(run.done);
    expect(err.message).toBe("timed out after 2s");
    expect(err.signal).toBe("SIGTERM");
    // SIGTERM was enough: no wait for the 5 s grace.
    expect(Date.now() - t0).toBeLessThan(4000);
    await expectDead(pids);
  });

  it("SIGKILLs a group that ignores SIGTERM once the grace has passed", async () => {
    const run = start({ shell: "trap '' TERM; sleep 100 & echo pid $!; wait" }, { home: home(), killGraceMs: 300 });
    const pids = await pidsFrom(run, 1);
    const t0 = Date.now();
    run.controller.abort(new Error("the job was cancelled"));
    const err = await failure(run.done);
    const took = Date.now() - t0;
    expect(err.message).toBe("the job was cancelled");
    expect(err.signal).toBe("SIGKILL");
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(4000);
    await expectDead(pids);
  });

  it("ends what the process left running when it exits", async () => {
    const run = start({ shell: "sleep 100 & echo pid $!" }, { home: home() });
    const result = await run.done;
    expect(result.exitCode).toBe(0);
    await expectDead(await pidsFrom(run, 1));
  });

  it("starts nothing when the signal has already fired", async () => {
    const h = home();
    const controller = new AbortController();
    controller.abort(new Error("the job was cancelled"));
    const run = start({ shell: "touch started" }, { home: h }, controller);
    const err = await failure(run.done);
    expect(err.message).toBe("the job was cancelled");
    await sleep(100);
    expect(existsSync(join(h, "started"))).toBe(false);
    expect(existsSync(err.logPath)).toBe(false);
  });

  it("refuses a job id that would climb out of the logs folder", () => {
    expect(() => shellLogPath("/h", "../x", 1)).toThrow(TypeError);
    expect(shellLogPath("/h", "01ABC", 2)).toBe(join("/h", "logs", "01ABC", "2.log"));
  });
});
