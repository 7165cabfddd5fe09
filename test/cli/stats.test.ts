import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { open } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const run = promisify(execFile);

async function runway(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("runway stats", () => {
  it("prints counts per queue, and JSON with --json, from RUNWAY_DB", async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, "cli.db");
    const rw = open({ db });
    await rw.addMany([{ kind: "k", queue: "a" }, { kind: "k", queue: "a" }, { kind: "k", queue: "b" }]);
    await rw.close();
    const table = await runway(["stats"], { RUNWAY_DB: db });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^queue\s+state\s+limit\s+queued/m);
    expect(table.stdout).toMatch(/^a\s+running\s+1\s+2\s/m);
    const json = await runway(["stats", "b", "--json", "--db", db]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ queue: "b", counts: { queued: 1 } }]);
    tmp.cleanup();
  });

  it("says what is wrong in one line, without a stack trace, and exits 1", async () => {
    const tmp = tempDir();
    const missing = await runway(["stats", "ghost", "--db", join(tmp.dir, "x.db")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('runway: queue "ghost" does not exist (queues are created when their first job is added)\n');
    const notDb = await runway(["stats", "--db", BIN]);
    expect(notDb.code).toBe(1);
    expect(notDb.stderr).toMatch(/^runway: .* is not a SQLite database; point --db at a runway database file or a new path\n$/);
    tmp.cleanup();
  });
});
