import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CHART_NAMES, chartsFor } from "./charts.js";
import { REPO_ROOT } from "./repo.js";

/**
 * The results file: one JSON object per run, written on every run (see main.ts for where).
 *
 *   {
 *     environment: { node, cpu, cores, versions: {...}, fsyncMs: { p50, p99, samples },
 *                    durability: { <side>: { class, setting, caveat } }, ... },
 *     config: { mode, runs, only, sides, durability, sizes, argv, startedAt, finishedAt },
 *     tables: [
 *       { table: "sqlite" | "postgresql" | "shell", title, fsyncMs, sides: [{ side, label, store, durability, setting, caveat }],
 *         notes, figures: [{ id, label, unit, better, target, values: [{ side, label, store, durability, unit, runs, median, min, max }],
 *                            ratios: [{ side, durability, ratio, peer, note? }] }] },
 *       { table: "remote" | "server" | "scale" | "steady" | "churn" | ..., ...as that table's own code records it }
 *     ]
 *   }
 *
 * The tables come from the same records `--json` prints, in their order: a table record opens a
 * table, and the figure records of that table that follow are gathered under its `figures`.
 */
export interface Results {
  environment: Record<string, unknown>;
  config: Record<string, unknown>;
  tables: Record<string, unknown>[];
}

export function buildResults(records: readonly object[], config: Record<string, unknown>): Results {
  let environment: Record<string, unknown> = {};
  const tables: Record<string, unknown>[] = [];
  for (const record of records) {
    const { type, ...rest } = record as Record<string, unknown>;
    if (type === "environment") {
      environment = rest;
    } else if (type === "table") {
      tables.push({ ...rest });
    } else if (type === "figure" && typeof rest.table === "string") {
      const { table, ...figure } = rest;
      let t = [...tables].reverse().find((x) => x.table === table);
      if (!t) {
        t = { table };
        tables.push(t);
      }
      t.figures = [...((t.figures as unknown[] | undefined) ?? []), figure];
    }
    // The fsync figure without a table is the environment's fsyncMs already.
  }
  // The disk's flush latency goes with every table, those that do not record it themselves too.
  if (environment.fsyncMs !== undefined) for (const t of tables) t.fsyncMs ??= environment.fsyncMs;
  return { environment, config, tables };
}

/** docs/bench in the checkout, wherever the command is run from. */
export const RESULTS_DIR = join(REPO_ROOT, "docs", "bench");

/** results.json for a full run, results-quick.json for --quick; -partial when --only or --side narrowed it. */
export function defaultResultsPath(mode: "quick" | "full", partial: boolean): string {
  return join(RESULTS_DIR, `results${mode === "quick" ? "-quick" : ""}${partial ? "-partial" : ""}.json`);
}

export function writeResults(path: string, results: Results): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

export function readResults(path: string): Results {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read results from ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as Results).tables)) {
    throw new Error(`${path} is not a results file: it needs one object with a tables array (a --json line stream is not one)`);
  }
  return parsed as Results;
}

/** Where the chart `name` of the results file at `jsonPath` goes: beside it, named after it. */
export function chartPath(jsonPath: string, name: string): string {
  return join(dirname(jsonPath), `${basename(jsonPath).replace(/\.json$/i, "")}-${name}.svg`);
}

/**
 * Writes the charts the results hold data for, and removes this file's charts of other kinds
 * left by an earlier run, so the folder never shows a chart the JSON beside it does not back.
 */
export function writeCharts(jsonPath: string, results: Results): string[] {
  const charts = chartsFor(results);
  mkdirSync(dirname(jsonPath), { recursive: true });
  const written: string[] = [];
  for (const c of charts) {
    const path = chartPath(jsonPath, c.name);
    writeFileSync(path, c.svg);
    written.push(path);
  }
  for (const name of CHART_NAMES) {
    const path = chartPath(jsonPath, name);
    if (!charts.some((c) => c.name === name) && existsSync(path)) rmSync(path);
  }
  return written;
}
