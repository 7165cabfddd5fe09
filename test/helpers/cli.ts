/** The built CLI as a user runs it: a child process, a RUNWAY_HOME and a database of the test's. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

export const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A runner for one database: `await runway("ls", "--json")` gives the exit code and both streams. */
export function cli(dir: string, db: string) {
  return async (...args: string[]): Promise<Run> => {
    try {
      const r = await promisify(execFile)(process.execPath, [BIN, ...args], {
        env: { ...process.env, RUNWAY_HOME: join(dir, "home"), RUNWAY_DB: db, NO_COLOR: "1" },
        cwd: dir,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
    }
  };
}
