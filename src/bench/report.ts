import { type Environment, durabilityClasses } from "./environment.js";
import type { Summary } from "./stats.js";

export interface FigureBase {
  id: string;
  label: string;
  unit: "jobs/s" | "ms";
  better: "higher" | "lower";
}

export interface FigureDef extends FigureBase {
  /** What the project asks of runway for this figure. */
  target: number;
}

export interface Figure extends FigureDef {
  runway: Summary | null;
  bullmq: Summary | null;
}

export interface RunConfig {
  mode: "quick" | "full";
  runs: number;
}

/**
 * Always oriented so that above 1 means runway is better: runway/BullMQ for throughput,
 * BullMQ/runway for latency.
 */
export function ratio(f: Figure): number | null {
  if (!f.runway || !f.bullmq || f.runway.median === 0 || f.bullmq.median === 0) return null;
  return f.better === "higher" ? f.runway.median / f.bullmq.median : f.bullmq.median / f.runway.median;
}

export function meetsTarget(f: Figure): boolean | null {
  if (!f.runway) return null;
  return f.better === "higher" ? f.runway.median >= f.target : f.runway.median <= f.target;
}

function num(value: number, unit: FigureBase["unit"]): string {
  return unit === "ms"
    ? value.toFixed(3)
    : value.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

export function cell(s: Summary | null | undefined, unit: FigureBase["unit"]): string {
  if (!s) return "-";
  if (s.runs.length === 1) return num(s.median, unit);
  return `${num(s.median, unit)} (${num(s.min, unit)}–${num(s.max, unit)})`;
}

function targetCell(f: Figure): string {
  return `${f.better === "higher" ? "≥" : "≤"} ${f.unit === "ms" ? String(f.target) : num(f.target, f.unit)}`;
}

function statusCell(f: Figure): string {
  const met = meetsTarget(f);
  if (met === null) return "-";
  if (met) return "met";
  const m = f.runway!.median;
  return f.better === "higher"
    ? `SHORT (${Math.round((m / f.target) * 100)}% of target)`
    : `SHORT (${(m / f.target).toFixed(2)}× target)`;
}

function ratioCell(f: Figure): string {
  const r = ratio(f);
  if (r === null) return "-";
  return `${r.toFixed(2)}× (${f.better === "higher" ? "rw/bq" : "bq/rw"})`;
}

/** Rows of cells as aligned text lines: the first two columns to the left, the rest to the right. */
function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) =>
    r
      .map((v, c) => (c === 0 || c === 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!)))
      .join("   ")
      .trimEnd(),
  );
}

export function renderHeader(env: Environment, config: RunConfig): string[] {
  return [
    `runway benchmark (${config.mode}; ${config.runs === 1 ? "1 run per figure" : `median of ${config.runs} runs per figure, min–max in brackets`})`,
    "",
    `node ${env.node}   ${env.cpu} × ${env.cores}`,
    `disk fsync   4 KiB write + fdatasync under ${env.dir}: p50 ${env.fsyncP50Ms.toFixed(3)} ms, p99 ${env.fsyncP99Ms.toFixed(3)} ms (${env.fsyncSamples} samples)`,
  ];
}

/** The heading row, a rule under it, the other rows and a blank line. */
export function tableLines(rows: string[][]): string[] {
  const table = pad(rows);
  return [table[0]!, "-".repeat(Math.max(...table.map((l) => [...l].length))), ...table.slice(1), ""];
}

export function renderTable(env: Environment, notes: string[], figures: Figure[]): string[] {
  const d = durabilityClasses(env);
  const lines = [
    "SQLite: runway and BullMQ",
    `SQLite ${env.sqlite} (better-sqlite3 ${env.betterSqlite3})   BullMQ ${env.bullmq} (ioredis ${env.ioredis})   Redis ${env.redis}`,
    `durability   runway: ${d.runway}`,
    `             Redis:  ${d.redis}`,
    "",
  ];
  const rows = [
    ["figure", "unit", "runway", "BullMQ", "ratio", "target", "runway vs target"],
    ...figures.map((f) => [f.label, f.unit, cell(f.runway, f.unit), cell(f.bullmq, f.unit), ratioCell(f), targetCell(f), statusCell(f)]),
  ];
  lines.push(...tableLines(rows));
  lines.push("ratio: above 1 means runway is better (throughput runway/BullMQ, latency BullMQ/runway).");
  lines.push(...notes);
  return lines;
}

export function jsonRecords(env: Environment, config: RunConfig, figures: Figure[]): object[] {
  const d = durabilityClasses(env);
  return [
    { type: "environment", ...env, durability: d, mode: config.mode, runs: config.runs },
    {
      type: "figure",
      id: "disk-fsync-4k",
      label: "disk fsync (4 KiB write + fdatasync)",
      unit: "ms",
      p50: env.fsyncP50Ms,
      p99: env.fsyncP99Ms,
      samples: env.fsyncSamples,
    },
    ...figures.map((f) => ({
      type: "figure",
      table: "sqlite",
      id: f.id,
      label: f.label,
      unit: f.unit,
      better: f.better,
      runway: f.runway,
      bullmq: f.bullmq,
      ratio: ratio(f),
      ratioOf: f.better === "higher" ? "runway/bullmq" : "bullmq/runway",
      target: { op: f.better === "higher" ? ">=" : "<=", value: f.target },
      meetsTarget: meetsTarget(f),
    })),
  ];
}
