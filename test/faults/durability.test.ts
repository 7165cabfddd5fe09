/** Durability: the process that accepted adds is killed with -9 at random points; every add that returned is there after. */
import { fork } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, assertBuilt, exited } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { verdict } from "./oracle.js";
import { STORE_KINDS, faultStore } from "./stores.js";

const tmp = tempDir("rw-faults-");
beforeAll(assertBuilt);
afterAll(tmp.cleanup);

const TRIALS = 100;

describe.each(STORE_KINDS)("kill -9 of the adding process on %s", (kind) => {
  it(`${TRIALS} trials: every acknowledged add survives`, async () => {
    const s = await faultStore(kind, tmp.dir, "durable");
    try {
      let acknowledged = 0;
      for (let t = 0; t < TRIALS; t++) {
        const child = fork(join(FIXTURES, "add-until-killed.mjs"), [s.db], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
        let out = "";
        child.stdout!.on("data", (d) => (out += d));
        await new Promise<void>((resolve, reject) => {
          child.once("message", () => resolve());
          child.once("exit", (code) => reject(new Error(`the adding process exited early with ${code}`)));
        });
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 150));
        child.kill("SIGKILL");
        await exited(child);
        const ids = out.split("\n").filter((l) => /^[0-9a-z]{26}$/.test(l));
        acknowledged += ids.length;
        for (const id of ids) expect(await s.store.jobGet({ id }), `acknowledged add ${id} (trial ${t})`).not.toBeNull();
      }
      expect(acknowledged).toBeGreaterThan(TRIALS);
      verdict(`durability of adds, ${kind}`, { trials: TRIALS, acknowledged, missing: 0 });
    } finally {
      await s.close();
    }
  });
});
