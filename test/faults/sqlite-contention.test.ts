/**
 * One SQLite file written at once by 8 worker processes, the CLI and the HTTP server: no
 * "database is locked" reaches anyone, and no status write is lost.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { open } from "../../src/runtime/runway.js";
import { startServer } from "../../src/server/serve.js";
import { BIN } from "../helpers/cli.js";
import { assertBuilt, exited, killChildren, until } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { checkOracle, startFaultWorker, verdict } from "./oracle.js";

const tmp = tempDir("rw-faults-");
beforeAll(assertBuilt);
afterEach(killChildren);
afterAll(tmp.cleanup);

describe("SQLite under many writers", () => {
  it("8 worker processes, the CLI adding and steering, and the HTTP server adding, all at once", async () => {
    const db = join(tmp.dir, "busy.db");
    const log = join(tmp.dir, "busy.log");
    const rw = open({ db });
    const messages: string[] = [];
    rw.on("warning", ({ message }) => messages.push(message));
    await rw.queue("busy", { concurrency: null });
    const server = await startServer({ runway: rw, home: join(tmp.dir, "home"), port: 0 });
    try {
      const workers = await Promise.all(Array.from({ length: 8 }, () => startFaultWorker({ db, log, concurrency: 4, queue: "busy", leaseMs: 30_000, reaperMs: 1_000 })));
      const cli = async (...args: string[]) => {
        const r = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, RUNWAY_DB: db, RUNWAY_HOME: join(tmp.dir, "home") } }).catch(
          (e: { stdout: string; stderr: string; code: number }) => e,
        );
        return r as { stdout: string; stderr: string; code?: number };
      };
      const ids: string[] = [];
      const stderr: string[] = [];
      const viaCli = (async () => {
        for (let i = 0; i < 40; i++) {
          const r = await cli("add", "-q", "busy", "--file", writeBatch(i));
          stderr.push(r.stderr);
          expect(r.code ?? 0, r.stderr).toBe(0);
          ids.push(...r.stdout.trim().split("\n"));
          if (i % 10 === 5) stderr.push((await cli("ls", "-q", "busy", "--json")).stderr);
        }
      })();
      const viaHttp = (async () => {
        for (let i = 0; i < 80; i++) {
          const res = await fetch(`${server.url}/api/jobs`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jobs: Array.from({ length: 25 }, () => ({ kind: "work", queue: "busy", payload: { ms: 1 } })) }),
          });
          const body = (await res.json()) as { jobs?: { id: string }[]; error?: { message: string } };
          expect(res.status, JSON.stringify(body.error)).toBe(201);
          ids.push(...body.jobs!.map((j) => j.id));
        }
      })();
      await Promise.all([viaCli, viaHttp]);
      await until("the drain", async () => (await rw.stats("busy"))[0]!.counts.completed === ids.length, 120_000);
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(workers.map(exited));
      const v = await checkOracle({ store: rw.store, ids, log });
      const said = [...stderr, ...messages].join("\n");
      expect(said).not.toMatch(/database is locked|SQLITE_BUSY/i);
      expect(v.duplicates).toBe(0);
      verdict("SQLite: 8 workers + CLI + HTTP writing at once", { jobs: v.jobs, completed: v.completed, duplicates: v.duplicates, lockedErrors: 0 });
    } finally {
      await server.close();
      await rw.close();
    }

    function writeBatch(i: number): string {
      const file = join(tmp.dir, `batch-${i}.json`);
      const specs = Array.from({ length: 25 }, (_, k) => ({ shell: `true ${i}-${k}` }));
      writeFileSync(file, JSON.stringify(specs));
      return file;
    }
  });
});
