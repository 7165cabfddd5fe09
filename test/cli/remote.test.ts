/**
 * Remote targets end to end, as a user drives them: the built CLI, a real sshd on 127.0.0.1,
 * rsync, tmux and the server-side wrapper, worker processes killed and restarted.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli } from "../helpers/cli.js";
import { type Sshd, startSshd } from "../helpers/sshd.js";
import { tempDir } from "../helpers/tmp.js";
import { until } from "../helpers/processes.js";

let sshd: Sshd;
const dirs: (() => void)[] = [];
const workers: ChildProcess[] = [];

beforeAll(async () => {
  sshd = await startSshd();
}, 600_000);

afterAll(() => {
  for (const w of workers) w.kill("SIGKILL");
  sshd?.stop();
  for (const d of dirs) d();
});

interface World {
  dir: string;
  server: string;
  project: string;
  runway: ReturnType<typeof cli>;
  env: NodeJS.ProcessEnv;
}

/** A database, a RUNWAY_HOME, a project to sync and a target "box" whose server directory is local (loopback). */
async function world(opts: { concurrency?: number; sync?: boolean } = {}): Promise<World> {
  const t = tempDir("rw-remote-");
  dirs.push(() => {
    spawnSync("tmux", ["-S", join(t.dir, "server", "tmux.sock"), "kill-server"]);
    t.cleanup();
  });
  const project = join(t.dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "main.sh"), 'echo "main says $1"\n');
  const db = join(t.dir, "runway.db");
  const env = { ...process.env, RUNWAY_HOME: join(t.dir, "home"), RUNWAY_DB: db, RUNWAY_SSH_CONFIG: sshd.config, NO_COLOR: "1" };
  process.env.RUNWAY_SSH_CONFIG = sshd.config;
  const runway = cli(t.dir, db);
  const w: World = { dir: t.dir, server: join(t.dir, "server"), project, runway, env };
  const args = ["target", "add", "box", "--host", "root@127.0.0.1", "--port", String(sshd.port), "--dir", w.server];
  if (opts.sync !== false) args.push("--sync", project);
  if (opts.concurrency) args.push("-c", String(opts.concurrency));
  expect((await runway(...args)).code).toBe(0);
  return w;
}

function startWorker(w: World, ...args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, "worker", ...args], { env: w.env, cwd: w.dir, stdio: ["ignore", "pipe", "pipe"] });
  workers.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: () => out, exited };
}


async function show(w: World, id: string): Promise<Record<string, any>> {
  const r = await w.runway("show", id, "--json");
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Processes of a process group that are not zombies (PID 1 here reaps slowly). */
function liveInGroup(pgid: number): string[] {
  const ps = spawnSync("ps", ["-eo", "pgid=,stat=,args="], { encoding: "utf8" }).stdout;
  return ps.split("\n").map((l) => l.trim()).filter((l) => l.startsWith(`${pgid} `) && !/^\d+ Z/.test(l));
}

/** The server's record of a run, read straight from its database. */
function serverRow(w: World, runId: string): Record<string, any> | null {
  const r = spawnSync("sqlite3", ["-json", join(w.server, "server.db"), `SELECT * FROM runs WHERE run_id = '${runId}'`], { encoding: "utf8" });
  const rows = r.stdout.trim() ? JSON.parse(r.stdout) : [];
  return rows[0] ?? null;
}

describe("remote targets", () => {
  it("target add / check / ls / rm, with clear errors for mistakes", async () => {
    const w = await world();
    const check = await w.runway("target", "check", "box");
    expect(check.stderr).toBe("");
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/ok\s+ssh/);
    expect(check.stdout).toMatch(/ok\s+tmux\s+tmux 3/);
    expect(check.stdout).toMatch(/ok\s+server scripts\s+version [0-9a-f]{12} installed/);
    expect(check.stdout).toMatch(/target box is ready/);
    expect(existsSync(join(w.server, "server.db"))).toBe(true);
    // Installing again is a no-op that says so.
    expect((await w.runway("target", "check", "box")).stdout).toMatch(/version [0-9a-f]{12} \(reinstalled\)/);
    const ls = await w.runway("target", "ls");
    expect(ls.stdout).toMatch(/box .*root@127\.0\.0\.1:\d+ .*reachable/);

    const dup = await w.runway("target", "add", "box", "--host", "elsewhere");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^runway: target "box" exists; remove it first/);
    const bad = await w.runway("target", "add", "x", "--host", "-oProxyCommand=touch /tmp/pwned");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/target.host: .* is not an SSH destination/);
    const unknown = await w.runway("add", "--on", "nowhere", "--", "true");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/target "nowhere" does not exist; add it with: runway target add nowhere/);
    expect(unknown.stderr.split("\n").filter(Boolean)).toHaveLength(1);

    const id = (await w.runway("add", "--on", "box", "--", "true")).stdout.trim();
    expect((await w.runway("target", "rm", "box")).stderr).toMatch(/still has 1 job/);
    await w.runway("cancel", id);
    expect((await w.runway("target", "rm", "box")).code).toBe(0);
    expect((await w.runway("target", "ls")).stdout).toMatch(/no targets yet/);
  }, 60_000);

  it("runs 5 queued jobs one after another in position order; a broken sync fails only its job; the queue completes", async () => {
    const w = await world();
    const broken = join(w.dir, "gone");
    mkdirSync(broken);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const args = ["add", "--on", "box", "-q", "bench"];
      if (i === 2) args.push("--sync", broken);
      args.push("--", "bash", "main.sh", `job ${i}`);
      const r = await w.runway(...args);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.stdout.trim());
    }
    // Job 5 moves to the front: position order, not insertion order.
    await w.runway("move", ids[4]!, "--top");
    rmSync(broken, { recursive: true });
    const worker = startWorker(w, "--until-empty");
    expect(await worker.exited).toBe(1); // one job failed
    const out = worker.output();
    expect(out).toMatch(/queue bench completed/);
    const jobs = await Promise.all(ids.map((id) => show(w, id)));
    expect(jobs.map((j) => j.status)).toEqual(["completed", "failed", "completed", "completed", "completed"]);
    expect(jobs[1]!.error).toMatch(/^Failed to sync project files: .*gone/);
    // Strictly one at a time, in position order (5 first), by the server's own clock.
    const order = [4, 0, 2, 3];
    const rows = order.map((i) => serverRow(w, jobs[i]!.remote.runId)!);
    for (let k = 1; k < rows.length; k++) expect(rows[k]!.started_at).toBeGreaterThanOrEqual(rows[k - 1]!.ended_at);
    expect(rows.every((r) => r.status === "SUCCEEDED" && r.exit_code === 0)).toBe(true);
    // The output came back, and `runway logs` shows it.
    const logs = await w.runway("logs", ids[2]!);
    expect(logs.stdout).toBe("main says job 3\n");
  }, 120_000);

  it("a job runs in a snapshot of the project: excluded folders stay home, hostile file names arrive intact, unchanged files are hard links", async () => {
    const w = await world();
    const p = w.project;
    for (const d of [".git", "__pycache__", ".venv", "node_modules", "data"]) {
      mkdirSync(join(p, d));
      writeFileSync(join(p, d, "x"), "x");
    }
    writeFileSync(join(p, ".gitignore"), "data/\n");
    const hostile = ["it's $(touch pwned) `id`.txt", "spaces  and\ttab.txt", "-n", "*"];
    for (const name of hostile) writeFileSync(join(p, name), name);
    const a = (await w.runway("add", "--on", "box", "--", "ls", "-A")).stdout.trim();
    const b = (await w.runway("add", "--on", "box", "--", "ls", "-A")).stdout.trim();
    const worker = startWorker(w, "--until-empty");
    expect(await worker.exited).toBe(0);
    const [ja, jb] = [await show(w, a), await show(w, b)];
    const snap = (j: Record<string, any>) => join(w.server, "snapshots", j.remote.runId);
    const listed = readdirSync(snap(ja)).sort();
    expect(listed).toEqual([".gitignore", ...hostile, "main.sh"].sort());
    for (const name of hostile) expect(readFileSync(join(snap(ja), name), "utf8")).toBe(name);
    expect(existsSync(join(snap(ja), "pwned"))).toBe(false);
    expect(existsSync(join(w.dir, "pwned"))).toBe(false);
    expect(statSync(join(snap(jb), "main.sh")).ino).toBe(statSync(join(snap(ja), "main.sh")).ino);
  }, 60_000);

  it("cancel stops the remote process group; logs -f streams a running job's output", async () => {
    const w = await world();
    const id = (await w.runway("add", "--on", "box", "--shell", 'trap "echo got TERM; exit 143" TERM; for i in $(seq 1 100); do echo "tick $i"; sleep 0.1; done')).stdout.trim();
    const worker = startWorker(w);
    await until("the job to run", async () => (await show(w, id)).status === "running" && serverRow(w, (await show(w, id)).remote?.runId ?? "")?.status === "RUNNING");
    const follow = spawn(process.execPath, [BIN, "logs", "-f", id], { env: w.env });
    const followed = new Promise<number | null>((r) => follow.on("exit", (code) => r(code)));
    let streamed = "";
    follow.stdout.on("data", (d) => (streamed += d));
    await until("streamed output", () => /tick 3/.test(streamed));
    const cancel = await w.runway("cancel", id);
    expect(cancel.code, cancel.stderr).toBe(0);
    await until("cancelled", async () => (await show(w, id)).status === "cancelled");
    const job = await show(w, id);
    const row = serverRow(w, job.remote.runId)!;
    expect(row.status).toBe("CANCELLED");
    expect(row.exit_code).toBe(143);
    expect(await followed).toBe(1); // the job did not complete
    expect(streamed).toMatch(/tick 1\n/);
    expect(streamed).toMatch(/got TERM/);
    const pgid = Number(readFileSync(join(w.server, "runs", job.remote.runId, "job.pgid"), "utf8"));
    expect(liveInGroup(pgid)).toEqual([]);
    worker.child.kill("SIGTERM");
    await worker.exited;
  }, 60_000);

  it("a worker killed with kill -9 mid-job: the restarted worker adopts the run, which finishes once and is recorded", async () => {
    const w = await world();
    const marker = join(w.dir, "runs.log");
    const id = (await w.runway("add", "--on", "box", "--shell", `echo start >> ${marker}; sleep 2; echo done; exit 7`)).stdout.trim();
    const first = startWorker(w, "--lease", "2s");
    await until("the run to start", () => existsSync(marker));
    first.child.kill("SIGKILL");
    await first.exited;
    const second = startWorker(w, "--lease", "2s", "--until-empty");
    expect(await second.exited).toBe(1);
    const job = await show(w, id);
    expect(job.status).toBe("failed");
    expect(job.exitCode).toBe(7);
    expect(job.error).toMatch(/exited with code 7: done/);
    expect(readFileSync(marker, "utf8")).toBe("start\n");
    const attempts = job.attemptsLog as { outcome: string; exitCode: number | null }[];
    expect(attempts.map((a) => a.outcome)).toEqual(["lost", "failed"]);
    expect(attempts[1]!.exitCode).toBe(7);
  }, 60_000);

  it("a worker stopped with SIGTERM hands a running remote job back at once; the next worker adopts the run", async () => {
    const w = await world({ sync: false });
    const marker = join(w.dir, "runs.log");
    const id = (await w.runway("add", "--on", "box", "--shell", `echo start >> ${marker}; sleep 1.5; echo done`)).stdout.trim();
    const first = startWorker(w);
    await until("the run to start", () => existsSync(marker));
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const handed = await show(w, id);
    expect(handed.status).toBe("queued");
    expect(handed.remote.attempt).toBe(1);
    const second = startWorker(w, "--until-empty");
    expect(await second.exited).toBe(0);
    const job = await show(w, id);
    expect(job.status).toBe("completed");
    expect(job.attempts).toBe(1);
    expect(readFileSync(marker, "utf8")).toBe("start\n");
    expect((await w.runway("logs", id)).stdout).toBe("done\n");
  }, 60_000);

  it("concurrency 1 holds with two workers on one target", async () => {
    const w = await world({ concurrency: 1, sync: false });
    const log = join(w.dir, "overlap.log");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await w.runway("add", "--on", "box", "-q", `q${i % 2}`, "--shell", `echo "start $(date +%s.%N)" >> ${log}; sleep 0.4; echo "end $(date +%s.%N)" >> ${log}`)).stdout.trim());
    }
    // Two queues, so only the target's limit can keep them apart.
    await w.runway("queue", "set", "q0", "-c", "none");
    await w.runway("queue", "set", "q1", "-c", "none");
    const a = startWorker(w, "--until-empty");
    const b = startWorker(w, "--until-empty");
    await Promise.all([a.exited, b.exited]);
    for (const id of ids) expect((await show(w, id)).status).toBe("completed");
    let running = 0;
    let most = 0;
    const events = readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ") as [string, string]).sort((x, y) => Number(x[1]) - Number(y[1]));
    for (const [kind] of events) {
      running += kind === "start" ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(events).toHaveLength(8);
    expect(most).toBe(1);
  }, 60_000);

  it("an unreachable target leaves its jobs queued and says why in target ls and the worker's log", async () => {
    const w = await world({ sync: false });
    const port = String(sshd.port === 1 ? 2 : 1);
    await w.runway("target", "add", "dead", "--host", "root@127.0.0.1", "--port", port, "--dir", join(w.dir, "dead"));
    const id = (await w.runway("add", "--on", "dead", "--", "true")).stdout.trim();
    const worker = startWorker(w);
    await until("the worker to say so", () => /target dead: .*127\.0\.0\.1 \(port 1\).*jobs stay queued/.test(worker.output()));
    expect((await show(w, id)).status).toBe("queued");
    const ls = await w.runway("target", "ls");
    expect(ls.stdout).toMatch(/dead .*unreachable .*Connection refused/);
    worker.child.kill("SIGTERM");
    await worker.exited;
    expect((await show(w, id)).attempts).toBe(0);
  }, 60_000);
});
