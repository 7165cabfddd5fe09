/**
 * Stalled leases: a worker frozen with SIGSTOP past its lease. Another takes the job and
 * completes it; the first, resumed, writes nothing (its token is stale) and stops the process
 * it had started.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { open } from "../../src/runtime/runway.js";
import { BIN } from "../helpers/cli.js";
import { exited, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { verdict } from "./oracle.js";
import { STORE_KINDS, faultStore } from "./stores.js";

const tmp = tempDir("rw-faults-");
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) {
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
});
afterAll(tmp.cleanup);

function alive(pid: number): boolean {
  const r = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" });
  return r.status === 0 && !r.stdout.trim().startsWith("Z");
}

describe.each(STORE_KINDS)("a worker frozen past its lease on %s", (kind) => {
  it("the job is taken over and completed once; the frozen worker, resumed, changes nothing and kills its own job", async () => {
    const s = await faultStore(kind, tmp.dir, "stall");
    const log = join(tmp.dir, `${kind}-stall-runs.log`);
    const env = { ...process.env, RUNWAY_DB: s.db, RUNWAY_HOME: join(tmp.dir, `${kind}-home`) };
    const worker = () => {
      const c = spawn(process.execPath, [BIN, "worker", "--lease", "1s"], { env, stdio: "ignore" });
      started.push(c);
      return c;
    };
    try {
      const rw = open({ db: s.db });
      rw.on("warning", () => {});
      const [job] = await rw.addMany([
        { kind: "shell", payload: { command: null, shell: `echo "start $$" >> ${log}; sleep 6; echo "done $$" >> ${log}`, cwd: tmp.dir, env: null } },
      ]);
      await rw.close();
      const a = worker();
      await until("the first run to start", () => existsSync(log));
      const firstShell = Number(readFileSync(log, "utf8").split(" ")[1]);
      a.kill("SIGSTOP");
      const b = worker();
      await until("the second worker's run", () => readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("start")).length === 2, 20_000);
      a.kill("SIGCONT");
      // Resumed, the first worker finds its lease gone and stops its job's process group.
      await until("the first run to be stopped", () => !alive(firstShell), 2_000);
      await until("the job to complete", async () => (await s.store.jobGet({ id: job!.id }))!.status === "completed", 20_000);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      expect(lines.filter((l) => l.startsWith("start"))).toHaveLength(2);
      expect(lines.filter((l) => l.startsWith("done"))).toEqual([`done ${lines[1]!.split(" ")[1]}`]);
      const attempts = await s.store.jobAttempts({ id: job!.id });
      expect(attempts.map((x) => x.outcome)).toEqual(["lost", "completed"]);
      expect((await s.store.jobGet({ id: job!.id }))!.exitCode).toBe(0);
      for (const c of [a, b]) c.kill("SIGTERM");
      await Promise.all([exited(a), exited(b)]);
      verdict(`stalled lease (SIGSTOP), ${kind}`, { runs: 2, completions: 1, attempts: attempts.map((x) => x.outcome).join("+"), frozenJobKilledOnResume: "yes" });
    } finally {
      await s.close();
    }
  });
});
