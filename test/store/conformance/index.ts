/**
 * The store conformance suite: every store runs exactly these tests, split by area. A factory
 * hands out a fresh, empty store for each test.
 */
import { afterEach, beforeEach, describe } from "vitest";
import { addingSuite } from "./adding.js";
import { claimingSuite } from "./claiming.js";
import { cronSuite } from "./cron.js";
import { dependenciesSuite } from "./dependencies.js";
import { escalationSuite } from "./escalation.js";
import { finishingSuite } from "./finishing.js";
import { type StoreHarness, conformance } from "./harness.js";
import { readingSuite } from "./reading.js";
import { reaperSuite } from "./reaper.js";
import { steeringSuite } from "./steering.js";
import { targetsSuite } from "./targets.js";

export type { StoreHarness };

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    let h: StoreHarness;
    const c = conformance(() => h);
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      for (const s of c.extra.splice(0)) await s.close();
      await h.cleanup();
    });
    for (const suite of [addingSuite, claimingSuite, finishingSuite, dependenciesSuite, escalationSuite, reaperSuite, steeringSuite, readingSuite, targetsSuite, cronSuite]) {
      suite(c);
    }
  });
}
