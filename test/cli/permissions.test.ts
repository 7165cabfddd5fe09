/** RUNWAY_HOME and what runway writes there are its user's alone: folders 0700, files 0600. */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("rw-perm-");
afterAll(tmp.cleanup);

describe("file modes", () => {
  it("a fresh RUNWAY_HOME, its database, log folders and logs are private; a secret in a job's environment is not printed unless asked", () => {
    const home = join(tmp.dir, "home");
    const env = { ...process.env, RUNWAY_HOME: home, RUNWAY_DB: "", DATABASE_URL: "", SECRET_TOKEN: "s3cr3t-value" };
    delete (env as Record<string, string | undefined>).RUNWAY_DB;
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", cwd: tmp.dir });
    const id = run("add", "--", "sh", "-c", "echo hello").stdout.trim();
    expect(run("worker", "--until-empty").status).toBe(0);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(home)).toBe(0o700);
    expect(mode(join(home, "runway.db"))).toBe(0o600);
    for (const f of readdirSync(home).filter((n) => n.startsWith("runway.db-"))) expect(mode(join(home, f)), f).toBe(0o600);
    expect(mode(join(home, "logs"))).toBe(0o700);
    expect(mode(join(home, "logs", id))).toBe(0o700);
    expect(mode(join(home, "logs", id, "1.log"))).toBe(0o600);
    const shown = run("show", id);
    expect(shown.stdout).toMatch(/env\s+\d+ variables \(--env to see them\)/);
    expect(shown.stdout).not.toContain("s3cr3t-value");
    expect(run("show", id, "--json").stdout).not.toContain("s3cr3t-value");
    expect(run("show", id, "--env").stdout).toContain("SECRET_TOKEN=s3cr3t-value");
  });
});
