#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isRunwayError } from "../core/errors.js";
import { registerAdd } from "./commands/add.js";
import { registerControls } from "./commands/controls.js";
import { registerCron } from "./commands/cron.js";
import { registerImport } from "./commands/import.js";
import { registerLogs } from "./commands/logs.js";
import { registerLs } from "./commands/ls.js";
import { registerMove } from "./commands/move.js";
import { registerPrune } from "./commands/prune.js";
import { registerQueue } from "./commands/queue.js";
import { registerShow } from "./commands/show.js";
import { registerServe } from "./commands/serve.js";
import { registerStats } from "./commands/stats.js";
import { registerTarget } from "./commands/target.js";
import { registerSteer } from "./commands/steer.js";
import { registerWait } from "./commands/wait.js";
import { registerWorker } from "./commands/worker.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("runway")
  .description("A durable job queue and job runner: every job kept in a database, run in order with the concurrency you allow.")
  .version(pkg.version)
  .option("--db <location>", "SQLite file or postgres:// URL (default: $RUNWAY_DB, $DATABASE_URL, else $RUNWAY_HOME/runway.db)")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

for (const register of [
  registerAdd,
  registerImport,
  registerLs,
  registerShow,
  registerLogs,
  registerSteer,
  registerMove,
  registerControls,
  registerQueue,
  registerTarget,
  registerWorker,
  registerServe,
  registerWait,
  registerStats,
  registerCron,
  registerPrune,
]) {
  register(program);
}

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are successes; anything else commander rejects is a usage error (it has printed why).
    process.exit(err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? 0 : 2);
  }
  // A mistake of the user's gets one line and no stack: 2 for bad input, 1 for an operation that failed.
  if (isRunwayError(err)) {
    process.stderr.write(`runway: ${err.message}\n`);
    process.exit(err.code === "invalid_input" ? 2 : 1);
  }
  throw err;
}
