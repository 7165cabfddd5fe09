import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEMO = new URL("../../examples/dist/examples/demo/main.js", import.meta.url).pathname;

// What `npm run demo` does first: the demo is built from examples/, outside the package's build.
beforeAll(async () => {
  await promisify(execFile)("npm", ["run", "build:examples", "--silent"], { cwd: ROOT });
}, 300_000);

it("npm run demo runs the pipeline to the end and prints the final counts", async () => {
  const tmp = tempDir();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [DEMO], { cwd: tmp.dir, env: { ...process.env, NO_COLOR: "1" } });
    // The story the README promises: priorities, a dependency, a retry, an escalation, a cascade.
    expect(stdout).toMatch(/retrying\s+fetch mirror/);
    expect(stdout).toMatch(/escalated\s+fix flaky test/);
    expect(stdout).toMatch(/skipped\s+index old archive/);
    expect(stdout).toMatch(/drained\s+queue research/);
    expect(stdout).toMatch(/^\s+research\s+0\s+0\s+0\s+0\s+8\s+1\s+1\s+1\s+11$/m);
    expect(stdout).toMatch(/^\s+publish\s+0\s+0\s+0\s+0\s+2\s+0\s+0\s+0\s+2$/m);
  } finally {
    tmp.cleanup();
  }
}, 60_000);
