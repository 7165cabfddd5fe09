#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { isRunwayError } from "../core/errors.js";
import { registerStats } from "./commands/stats.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("runway")
  .description("A durable job queue and job runner: every job kept in a database, run in order with the concurrency you allow.")
  .version(pkg.version)
  .option("--db <location>", "SQLite file (default: $RUNWAY_DB, else ~/.runway/runway.db)")
  .showHelpAfterError();

registerStats(program);

try {
  await program.parseAsync();
} catch (err) {
  // A mistake of the user's gets one line and exit code 1; anything else is a bug and keeps its stack.
  if (isRunwayError(err)) {
    process.stderr.write(`runway: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
