import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { open } from "../../src/index.js";
import { type Target, TargetClient, TargetLanes, targetClient } from "./runway-internals.js";
import { startSshd } from "../../test/helpers/sshd.js";
import { type Summary, quantile, summarize } from "./stats.js";

export const REMOTE_WORKLOAD_ID = "remote";

export interface RemoteSizes {
  jobs: number;
  warmup: number;
  pollSamples: number;
}

export interface RemoteTable {
  versions: { openssh: string; rsync: string; tmux: string };
  jobs: number;
  jobSeconds: number;
  gapP50: Summary;
  gapP95: Summary;
  total: Summary;
  ideal: number;
  poll1: Summary;
  poll20: Summary;
}

const JOB_SECONDS = 0.2;

/** A small project: what a researcher syncs before each benchmark run. */
function makeProject(dir: string): string {
  const project = join(dir, "project");
  mkdirSync(join(project, "src"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(project, "src", `mod${i}.py`), `# module ${i}\n${"x = 1\n".repeat(200)}`);
  writeFileSync(join(project, "bench.py"), "import time\ntime.sleep(0.2)\n");
  return project;
}

/** Server-side start and end of each run, in launch order, from the server's own database. */
function serverTimes(serverDir: string): { started: number; ended: number }[] {
  const db = new Database(join(serverDir, "server.db"), { readonly: true });
  try {
    return db.prepare("SELECT started_at AS started, ended_at AS ended FROM runs WHERE status = 'SUCCEEDED' ORDER BY started_at").all() as {
      started: number;
      ended: number;
    }[];
  } finally {
    db.close();
  }
}

/**
 * One sequence: `jobs` jobs of `sleep 0.2` queued on a loopback target with concurrency 1, a
 * worker's lanes run them, each synced and launched after the last one's end is seen. Gaps are
 * measured on the server's clock, from one run's end to the next one's start.
 */
async function sequence(dir: string, sshConfig: string, port: number, n: number, warmup: number): Promise<{ gaps: number[]; total: number }> {
  const home = join(dir, "home");
  const server = join(dir, "server");
  const project = makeProject(dir);
  const rw = open({ db: join(dir, "runway.db") });
  await rw.store.targetSet({ target: { name: "loop", host: "root@127.0.0.1", port, dir: server, sync: project, concurrency: 1 } });
  const lanes = await new TargetLanes(rw, { home, sshConfig }).start();
  const addJobs = (k: number, queue: string) =>
    rw.addMany(Array.from({ length: k }, () => ({ kind: "shell", queue, target: "loop", payload: { command: ["sleep", String(JOB_SECONDS)], shell: null, cwd: project, env: null } })));
  const drained = (queue: string) =>
    new Promise<void>((resolve) => {
      const on = ({ queue: q }: { queue: string }) => {
        if (q !== queue) return;
        rw.off("drained", on);
        resolve();
      };
      rw.on("drained", on);
    });
  try {
    // Warm-up (the scripts installed, the shared connection up) is left out of the figures.
    let done = drained("warmup");
    await addJobs(warmup, "warmup");
    await done;
    const before = serverTimes(server).length;
    done = drained("seq");
    const t0 = performance.now();
    await addJobs(n, "seq");
    await done;
    const total = (performance.now() - t0) / 1000;
    const runs = serverTimes(server).slice(before);
    const gaps = runs.slice(1).map((r, i) => (r.started - runs[i]!.ended) * 1000);
    return { gaps, total };
  } finally {
    await lanes.stop();
    await rw.close();
    execFileSync("tmux", ["-S", join(server, "tmux.sock"), "kill-server"], { stdio: "ignore" });
  }
}

/** The cost of one status poll over the shared connection, with `k` runs in flight on the target. */
async function pollCost(dir: string, sshConfig: string, port: number, k: number, samples: number): Promise<number[]> {
  const server = join(dir, `poll-${k}`);
  const target: Target = {
    name: "poll",
    host: "root@127.0.0.1",
    port,
    identity: null,
    dir: server,
    sync: null,
    excludes: [],
    concurrency: 100,
    createdAt: 0,
    reachable: null,
    message: null,
    checkedAt: null,
  };
  const client: TargetClient = targetClient(target, { home: join(dir, "home"), sshConfig });
  await client.ensureInstalled();
  const ids = Array.from({ length: k }, (_, i) => `poll-${k}-${i}`);
  for (const id of ids) await client.launch({ runId: id, script: "sleep 60\n", snapshot: false });
  try {
    await client.status(ids, 0);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      const snap = await client.status(ids, 0);
      times.push(performance.now() - t);
      if (snap.runs.size !== k) throw new Error(`a status poll saw ${snap.runs.size} of ${k} runs`);
    }
    return times;
  } finally {
    execFileSync("tmux", ["-S", join(server, "tmux.sock"), "kill-server"], { stdio: "ignore" });
  }
}

/** The first line a tool prints about its version, wherever it prints it (ssh -V uses stderr). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0]!.trim() || "unknown";
}

export async function runRemoteTable(p: { sizes: RemoteSizes; runs: number; log: (line: string) => void }): Promise<RemoteTable> {
  const sshd = await startSshd();
  const base = mkdtempSync(join(tmpdir(), "runway-bench-remote-"));
  try {
    const gapP50: number[] = [];
    const gapP95: number[] = [];
    const totals: number[] = [];
    for (let r = 0; r < p.runs; r++) {
      p.log(`remote: ${p.sizes.jobs} × sleep ${JOB_SECONDS} on a loopback target, run ${r + 1}/${p.runs}…`);
      const dir = join(base, `seq-${r}`);
      mkdirSync(dir);
      const { gaps, total } = await sequence(dir, sshd.config, sshd.port, p.sizes.jobs, p.sizes.warmup);
      gapP50.push(quantile(gaps, 50));
      gapP95.push(quantile(gaps, 95));
      totals.push(total);
    }
    p.log("remote: status poll cost with 1 and 20 runs in flight…");
    const poll1 = await pollCost(base, sshd.config, sshd.port, 1, p.sizes.pollSamples);
    const poll20 = await pollCost(base, sshd.config, sshd.port, 20, p.sizes.pollSamples);
    return {
      versions: { openssh: version("ssh", ["-V"]), rsync: version("rsync", ["--version"]).replace(/\s+protocol.*/, ""), tmux: version("tmux", ["-V"]) },
      jobs: p.sizes.jobs,
      jobSeconds: JOB_SECONDS,
      gapP50: summarize(gapP50),
      gapP95: summarize(gapP95),
      total: summarize(totals),
      ideal: p.sizes.jobs * JOB_SECONDS,
      poll1: summarize([quantile(poll1, 50)]),
      poll20: summarize([quantile(poll20, 50)]),
    };
  } finally {
    sshd.stop();
    rmSync(base, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** The table, in the shape of the others: figure, runway, target, status. */
export function renderRemoteTable(t: RemoteTable): string[] {
  const ms = (s: Summary) => (s.runs.length === 1 ? s.median.toFixed(0) : `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`);
  const sec = (s: Summary) => (s.runs.length === 1 ? s.median.toFixed(2) : `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
  const rows: [string, string, string, string][] = [
    ["gap, one run's end to the next one's start, p50 (ms)", ms(t.gapP50), "≤ 500", t.gapP50.median <= 500 ? "met" : "SHORT"],
    ["gap p95 (ms)", ms(t.gapP95), "-", "-"],
    [`total for ${t.jobs} × sleep ${t.jobSeconds} (s), ideal ${t.ideal.toFixed(1)} s`, sec(t.total), "-", `${(t.total.median / t.ideal).toFixed(2)}× ideal`],
    ["one status poll, 1 run in flight (ms, p50)", ms(t.poll1), "-", "-"],
    ["one status poll, 20 runs in flight (ms, p50)", ms(t.poll20), "-", "-"],
  ];
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(6, ...rows.map((r) => r[1].length)), 6, 10];
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i]!)).join("  ").trimEnd();
  return [
    "Remote jobs on a loopback target (sshd on 127.0.0.1, one shared connection)",
    `${t.versions.openssh}   ${t.versions.rsync}   ${t.versions.tmux}`,
    "each job: rsync of a 22-file project into a fresh snapshot (--link-dest), launch in tmux under the wrapper,",
    "its end seen by a long poll the server answers within 100 ms; gaps measured on the server's clock.",
    "",
    line(["figure", "runway", "target", "status"]),
    ...rows.map(line),
  ];
}
