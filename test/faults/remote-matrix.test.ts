/** The remote fault matrix of 4/7 (test/executors/ssh/faults.test.ts), run again and again: never a wrong final state. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FULL, verdict } from "./oracle.js";

const ROUNDS = FULL ? 20 : 3;

describe("the remote fault matrix, repeated", () => {
  it(`${ROUNDS} rounds in a row, each against a fresh sshd`, () => {
    let tests = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const r = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "test/executors/ssh/faults.test.ts"], {
        cwd: new URL("../../", import.meta.url).pathname,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
        timeout: 300_000,
      });
      const passed = /Tests\s+(\d+) passed/.exec(r.stdout);
      expect(r.status, `round ${round}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`).toBe(0);
      tests += Number(passed?.[1] ?? 0);
    }
    verdict("remote fault matrix, repeated", { rounds: ROUNDS, scenarios: tests / ROUNDS, wrongFinalStates: 0 });
  }, ROUNDS * 120_000);
});
