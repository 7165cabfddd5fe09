/**
 * The fault matrix of the remote executor against a real sshd on 127.0.0.1: the server-side
 * wrapper and helper, the evidence they leave and the verdicts drawn from it, with the faults
 * injected by hand (kill -9, tmux killed, a foreign boot id, a connection dropped mid-job).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Target, checkTarget } from "../../../src/core/target.js";
import { SshConnection, TransportError } from "../../../src/executors/ssh/connection.js";
import { preflight } from "../../../src/executors/ssh/preflight.js";
import { type RunEnd, RunWatcher } from "../../../src/executors/ssh/run-watcher.js";
import { SyncError, TargetClient } from "../../../src/executors/ssh/target-client.js";
import { type Sshd, startSshd } from "../../helpers/sshd.js";
import { tempDir } from "../../helpers/tmp.js";
import { until } from "../../helpers/processes.js";
import { HOSTILE } from "./quote.test.js";

let sshd: Sshd;
let noisy: Sshd;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  // Every session first prints a banner on stdout, as a chatty ~/.bashrc does, then runs the command.
  noisy = await startSshd({ extra: [`ForceCommand printf 'Welcome to the lab server!\\n'; eval "$SSH_ORIGINAL_COMMAND"`] });
}, 600_000);

afterAll(() => {
  for (const c of cleanups.splice(0)) c();
  sshd?.stop();
  noisy?.stop();
});

interface Box {
  client: TargetClient;
  watcher: RunWatcher;
  server: string;
  project: string;
  contacts: boolean[];
}

function box(opts: { server?: Sshd; concurrency?: number } = {}): Box {
  const s = opts.server ?? sshd;
  const t = tempDir("rw-box-");
  const server = join(t.dir, "server");
  cleanups.push(() => {
    spawnSync("tmux", ["-S", join(server, "tmux.sock"), "kill-server"]);
    t.cleanup();
  });
  const project = join(t.dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "main.sh"), "echo main\n");
  const target: Target = {
    ...checkTarget({ name: "box", host: "root@127.0.0.1", port: s.port, dir: server, sync: project, concurrency: opts.concurrency ?? 10 }),
    createdAt: 0,
    reachable: null,
    message: null,
    checkedAt: null,
  };
  const conn = new SshConnection({ host: target.host, port: target.port, identity: null }, { home: join(t.dir, "home"), configFile: s.config });
  mkdirSync(join(t.dir, "home"));
  const client = new TargetClient(target, conn);
  const contacts: boolean[] = [];
  return { client, watcher: new RunWatcher(client, (ok) => contacts.push(ok)), server, project, contacts };
}

async function launch(b: Box, runId: string, script: string): Promise<void> {
  await b.client.ensureInstalled();
  expect(await b.client.launch({ runId, script, snapshot: false })).toEqual({ state: "launched" });
}

function runFile(b: Box, runId: string, name: string): string {
  return join(b.server, "runs", runId, name);
}


function sql(b: Box, statement: string): string {
  return execFileSync("sqlite3", [join(b.server, "server.db"), ".timeout 5000", statement], { encoding: "utf8" }).trim();
}

const pidOf = (b: Box, runId: string, file: string) => Number(readFileSync(runFile(b, runId, file), "utf8"));

describe("the SSH transport", () => {
  it("passes hostile arguments and stdin payloads through byte for byte", async () => {
    const b = box();
    const r = await b.client.conn.exec(["printf", "<%s>\\n", ...HOSTILE]);
    expect(r.stdout.toString("utf8")).toBe(HOSTILE.map((h) => `<${h}>\n`).join(""));
    const payload = Buffer.from(`${HOSTILE.join("\n")}\n\u0000\u00ff binary`, "latin1");
    const echo = await b.client.conn.exec(["cat"], { stdin: payload });
    expect(echo.stdout.equals(payload)).toBe(true);
    expect(existsSync("/tmp/runway-pwned")).toBe(false);
  });

  it("refuses a server whose host key changed, and says how to fix it", async () => {
    const b = box();
    await b.client.conn.exec(["true"]);
    // Same address and port, another host key: what a reinstalled server (or a man in the middle) looks like.
    const other = await startSshd();
    try {
      const moved = new SshConnection({ host: "root@127.0.0.1", port: other.port, identity: null }, { home: join(b.server, "..", "home"), configFile: other.config });
      await moved.exec(["true"]); // first contact: remembered
      await moved.close();      const known = join(b.server, "..", "home", "known_hosts");
      const text = readFileSync(known, "utf8").replace(new RegExp(`\\[127\\.0\\.0\\.1\\]:${other.port} \\S+ \\S+`), `[127.0.0.1]:${other.port} ${sshd.hostPub.split(" ").slice(0, 2).join(" ")}`);
      writeFileSync(known, text);
      const again = new SshConnection({ host: "root@127.0.0.1", port: other.port, identity: null }, { home: join(b.server, "..", "home"), configFile: other.config });
      const err = await again.exec(["true"]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as Error).message).toMatch(/host key of root@127\.0\.0\.1 \(port \d+\) does not match .*ssh-keygen -R/);
    } finally {
      other.stop();
    }
  });
});

describe("runs on the server: the fault matrix", () => {
  const ended = async (b: Box, runId: string): Promise<RunEnd> => b.watcher.wait(runId);

  it("success and failure carry exit codes and output, and are seen within a second", async () => {
    const b = box();
    await launch(b, "ok-1", "echo fine\nexit 0\n");
    await launch(b, "bad-1", "echo broken >&2\nexit 3\n");
    const t0 = Date.now();
    const [ok, bad] = await Promise.all([ended(b, "ok-1"), ended(b, "bad-1")]);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(ok.verdict).toMatchObject({ status: "SUCCEEDED", exitCode: 0 });
    expect(ok.tail!.toString()).toBe("fine\n");
    expect(bad.verdict).toMatchObject({ status: "FAILED", exitCode: 3 });
    expect(bad.tail!.toString()).toBe("broken\n");
    // The dead panes kept for their status are let go once the verdict is recorded.
    await until("the pane to go", () => spawnSync("tmux", ["-S", join(b.server, "tmux.sock"), "has-session", "-t", "=runway-ok-1"]).status !== 0);
  });

  it("launching the same run twice starts it once; a full target says busy", async () => {
    const b = box({ concurrency: 1 });
    // The job runs until the test lets it go, so "busy" never depends on how fast a launch is.
    const go = join(b.server, "..", "go");
    await launch(b, "once-1", `echo ran >> ${join(b.server, "..", "count")}; while [ ! -e ${go} ]; do sleep 0.05; done\n`);
    expect(await b.client.launch({ runId: "once-1", script: "echo again\n", snapshot: false })).toMatchObject({ state: "already" });
    expect(await b.client.launch({ runId: "second-1", script: "true\n", snapshot: false })).toEqual({ state: "busy", running: 1 });
    writeFileSync(go, "");
    await ended(b, "once-1");
    expect(readFileSync(join(b.server, "..", "count"), "utf8")).toBe("ran\n");
  });

  it("cancel: TERM to the job's group (its trap runs), recorded as cancelled", async () => {
    const b = box();
    await launch(b, "cancel-1", 'trap "echo trapped; exit 143" TERM\nwhile :; do sleep 0.1; done\n');
    await until("the job's group", () => existsSync(runFile(b, "cancel-1", "job.pgid")));
    expect(await b.client.cancel("cancel-1", 5)).toBe("terminated");
    const end = await ended(b, "cancel-1");
    expect(end.verdict).toMatchObject({ status: "CANCELLED", exitCode: 143, signal: 15 });
    expect(end.tail!.toString()).toMatch(/trapped\n$/);
  });

  it("the wrapper SIGKILLed while the job goes on: still running, then recovered from the exit-code file", async () => {
    const b = box();
    await launch(b, "orphan-1", "sleep 1.2\necho finished\nexit 5\n");
    await until("the wrapper", () => existsSync(runFile(b, "orphan-1", "job.pgid")));
    process.kill(pidOf(b, "orphan-1", "wrapper.pid"), "SIGKILL");
    const snap = await b.client.status(["orphan-1"], 0);
    const ev = snap.runs.get("orphan-1")!;
    expect(ev.wrapperAlive).toBe(false);
    expect(ev.lockHeld || ev.groupAlive).toBe(true);
    const end = await ended(b, "orphan-1");
    expect(end.verdict).toMatchObject({ status: "FAILED", exitCode: 5, reason: "recovered_from_exit_code_file" });
    // The verdict is written into the server's row too, so the server's own count of running jobs is right.
    await until("the server's row", () => sql(b, "SELECT status || ' ' || exit_code FROM runs WHERE run_id = 'orphan-1'") === "FAILED 5");
  });

  it("wrapper and job SIGKILLed: lost, and the lock is free", async () => {
    const b = box();
    await launch(b, "gone-1", "sleep 30\n");
    await until("the job's group", () => existsSync(runFile(b, "gone-1", "job.pgid")));
    // The wrapper first: killed second, it could already have ended (and its pid gone to another process).
    process.kill(pidOf(b, "gone-1", "wrapper.pid"), "SIGKILL");
    process.kill(-pidOf(b, "gone-1", "job.pgid"), "SIGKILL");
    const end = await ended(b, "gone-1");
    expect(end.verdict).toMatchObject({ status: "LOST", exitCode: null });
    expect(end.verdict.reason).toMatch(/^wrapper_and_job_gone/);
    expect(spawnSync("flock", ["-n", runFile(b, "gone-1", "lock"), "true"]).status).toBe(0);
  });

  it("the tmux server killed: the wrapper forwards the hangup, the job ends, the run is recorded failed", async () => {
    const b = box();
    await launch(b, "hup-1", "sleep 30\n");
    await until("the job's group", () => existsSync(runFile(b, "hup-1", "job.pgid")));
    spawnSync("tmux", ["-S", join(b.server, "tmux.sock"), "kill-server"]);
    const end = await ended(b, "hup-1");
    expect(end.verdict).toMatchObject({ status: "FAILED", exitCode: 143, signal: 15, reason: "wrapper_signal:HUP" });
  });

  it("a reboot, faked through the boot id: the run is lost", async () => {
    const b = box();
    await launch(b, "boot-1", "sleep 30\n");
    await until("the row to be running", () => existsSync(runFile(b, "boot-1", "job.pgid")) && sql(b, "SELECT status FROM runs WHERE run_id = 'boot-1'") === "RUNNING");
    sql(b, "UPDATE runs SET boot_id = 'another-boot' WHERE run_id = 'boot-1'");
    const end = await ended(b, "boot-1");
    expect(end.verdict).toMatchObject({ status: "LOST", reason: "server_rebooted" });
    await until("the server's row", () => sql(b, "SELECT status || ' ' || reason FROM runs WHERE run_id = 'boot-1'") === "LOST server_rebooted");
    // Letting the run's session go hung up on the job already; what may be left is killed only if
    // it is still this run's group (an ended group's id can belong to anyone by now).
    const pgid = pidOf(b, "boot-1", "job.pgid");
    const leader = spawnSync("cat", [`/proc/${pgid}/cmdline`], { encoding: "utf8" }).stdout;
    if (pgid > 1 && leader.includes("runway-job-boot-1")) process.kill(-pgid, "SIGKILL");
  });

  it("a run that never started: failed once its grace period is over", async () => {
    const b = box();
    await b.client.ensureInstalled();
    mkdirSync(join(b.server, "runs", "never-1"), { recursive: true });
    const old = Date.now() / 1000 - 120;
    sql(b, `INSERT INTO runs (run_id, grp, session, status, submitted_at, updated_at) VALUES ('never-1', 'box', 'runway-never-1', 'STARTING', ${old}, ${old})`);
    const end = await ended(b, "never-1");
    expect(end.verdict).toMatchObject({ status: "FAILED", reason: "never_started" });
  });

  it("the ssh connection dropped mid-job: the job goes on, and its end is seen once reconnected", async () => {
    const b = box();
    await launch(b, "drop-1", "sleep 1.5\necho survived\n");
    const waiting = ended(b, "drop-1");
    await new Promise((r) => setTimeout(r, 300));
    await b.client.conn.close(); // ssh -O exit: the shared connection and the poll on it are gone
    for (const pid of sshd.sessions()) spawnSync("kill", ["-9", String(pid)]);
    const end = await waiting;
    expect(end.verdict).toMatchObject({ status: "SUCCEEDED", exitCode: 0 });
    expect(end.tail!.toString()).toBe("survived\n");
  });
});

describe("keeping the server tidy", () => {
  it("prune removes runs that ended long enough ago, keeps running ones and the newest snapshot", async () => {
    const b = box();
    await b.client.ensureInstalled();
    await b.client.sync("old-1", b.project);
    await launch(b, "old-1", "true\n");
    await b.client.sync("old-2", b.project);
    await launch(b, "old-2", "true\n");
    await Promise.all([b.watcher.wait("old-1"), b.watcher.wait("old-2")]);
    await launch(b, "live-1", "sleep 5\n");
    sql(b, "UPDATE runs SET ended_at = ended_at - 3600 WHERE run_id IN ('old-1', 'old-2')");
    expect(await b.client.prune(1800)).toBe(2);
    expect(existsSync(join(b.server, "runs", "old-1"))).toBe(false);
    expect(existsSync(join(b.server, "snapshots", "old-1"))).toBe(false);
    // The newest snapshot is the next sync's base, whatever its age.
    expect(existsSync(join(b.server, "snapshots", "old-2"))).toBe(true);
    expect(existsSync(join(b.server, "runs", "live-1"))).toBe(true);
    expect(sql(b, "SELECT group_concat(run_id) FROM runs")).toBe("live-1");
    await b.client.cancel("live-1", 1);
  });
});

describe("a login shell that prints noise", () => {
  it("status and launches still work (marked output); the sync fails saying why, and preflight says so first", async () => {
    const b = box({ server: noisy });
    await launch(b, "noisy-1", "echo quiet job\n");
    const end = await b.watcher.wait("noisy-1");
    expect(end.verdict).toMatchObject({ status: "SUCCEEDED" });
    expect(end.tail!.toString()).toBe("quiet job\n");
    const err = await b.client.sync("noisy-2", b.project).catch((e: unknown) => e);
    expect(err, String(err)).toBeInstanceOf(SyncError);
    expect((err as Error).message).toMatch(/^Failed to sync project files: .*make ~\/\.bashrc quiet/);
    const checks = await preflight(b.client);
    expect(checks.find((c) => c.what === "quiet login shell")).toMatchObject({ ok: false, detail: expect.stringMatching(/Welcome to the lab server/) });
  });
});
