/**
 * What the benchmark takes from runway beyond its public entry (src/index.ts): the parts it
 * drives directly, and the built CLI it times. Every deep path into src/ is here, so a change
 * of src/'s layout is fixed in this one file.
 */
import { join } from "node:path";
import { REPO_ROOT } from "./repo.js";

export type { Target } from "../../src/core/target.js";
export { percentile } from "../../src/core/stats.js";
export { TargetClient } from "../../src/executors/ssh/target-client.js";
export { TargetLanes, targetClient } from "../../src/runtime/target-lanes.js";
export { startServer } from "../../src/server/serve.js";

/** runway's CLI as `npm run build` makes it (and `npm run bench` builds first): a user's `runway`. */
export const RUNWAY_CLI = join(REPO_ROOT, "dist", "cli", "main.js");
