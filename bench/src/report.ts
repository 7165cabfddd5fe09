import { type Durability, type DurabilityClass, type Environment, durabilityLine, fsyncLine, sideDurability, versions } from "./environment.js";
import type { SqliteSideName } from "./side.js";
import type { Summary } from "./stats.js";

export interface FigureBase {
  id: string;
  label: string;
  unit: "jobs/s" | "ms";
  better: "higher" | "lower";
}

export interface FigureDef extends FigureBase {
  /** What the project asks of runway for this figure; none for a figure shown for comparison only. */
  target?: number;
}

export interface Figure extends FigureDef {
  values: Partial<Record<SqliteSideName, Summary>>;
}

export interface RunConfig {
  mode: "quick" | "full";
  runs: number;
}

/** A side as its table shows it: a short label, the store it ran on and what its jobs survive. */
export interface SideColumn {
  side: string;
  label: string;
  /** The store under the side: sqlite, redis, postgresql, or tsp's memory. */
  store: string;
  durability: Durability;
  /** runway's own sides get ratios to the peers; the peers are what they are compared with. */
  runway: boolean;
}

const LABELS: Record<string, [label: string, store: string]> = {
  runway: ["runway NORMAL", "sqlite"],
  "runway-full": ["runway FULL", "sqlite"],
  bullmq: ["BullMQ", "redis"],
  "runway-pg": ["runway-pg", "postgresql"],
  "runway-pg-async": ["runway-pg async", "postgresql"],
  graphile: ["graphile-worker", "postgresql"],
  "graphile-default": ["graphile-worker defaults", "postgresql"],
  pgboss: ["pg-boss", "postgresql"],
  "runway-shell": ["runway", "sqlite"],
  tsp: ["task-spooler", "memory"],
};

export function sideColumns(env: Environment, names: readonly string[]): SideColumn[] {
  return names.map((side) => {
    const [label, store] = LABELS[side] ?? [side, "unknown"];
    const durability = sideDurability(env, side) ?? { class: "volatile", setting: "unknown store", caveat: "no durability known for this side: taken as volatile" };
    return { side, label, store, durability, runway: side.startsWith("runway") };
  });
}

/** One runway side's standing against the best peer of its own durability class. */
export interface ClassRatio {
  side: string;
  durability: DurabilityClass;
  /** Above 1 means the runway side is better: throughput side/peer, latency peer/side. */
  ratio: number | null;
  peer: string | null;
  /** Why there is no ratio, when there is none. */
  note?: string;
}

interface Valued {
  better: "higher" | "lower";
  values: Partial<Record<string, Summary>>;
}

/**
 * Ratios are only ever taken within one durability class: a crash-safe runway against a volatile
 * Redis says more about fsync than about either queue. A class with no peer at all says so.
 */
export function classRatios(f: Valued, sides: readonly SideColumn[]): ClassRatio[] {
  const out: ClassRatio[] = [];
  for (const s of sides) {
    const mine = f.values[s.side];
    if (!s.runway || !mine) continue;
    const cls = s.durability.class;
    const peers = sides.filter((p) => !p.runway && p.durability.class === cls);
    if (peers.length === 0) {
      out.push({ side: s.side, durability: cls, ratio: null, peer: null, note: `no ${cls} peer` });
      continue;
    }
    let best: { median: number; peer: string } | null = null;
    for (const p of peers) {
      const v = f.values[p.side];
      if (!v || v.median === 0) continue;
      if (!best || (f.better === "higher" ? v.median > best.median : v.median < best.median)) best = { median: v.median, peer: p.side };
    }
    if (!best || mine.median === 0) {
      out.push({ side: s.side, durability: cls, ratio: null, peer: null, note: `no ${cls} peer measured on this figure` });
      continue;
    }
    const ratio = f.better === "higher" ? mine.median / best.median : best.median / mine.median;
    out.push({ side: s.side, durability: cls, ratio, peer: best.peer });
  }
  return out;
}

export function ratioText(r: ClassRatio | undefined, sides: readonly SideColumn[]): string {
  if (!r) return "-";
  if (r.ratio === null) return r.note ?? "-";
  return `${r.ratio.toFixed(2)}× ${sides.find((s) => s.side === r.peer)?.label ?? r.peer}`;
}

/** The figure's values, one record per side, in the shape the results file keeps. */
export function valueRecords(f: FigureBase & { values: Partial<Record<string, Summary>> }, sides: readonly SideColumn[]): object[] {
  const out: object[] = [];
  for (const s of sides) {
    const v = f.values[s.side];
    if (!v) continue;
    out.push({ side: s.side, label: s.label, store: s.store, durability: s.durability.class, unit: f.unit, runs: v.runs, median: v.median, min: v.min, max: v.max });
  }
  return out;
}

export function sideRecords(sides: readonly SideColumn[]): object[] {
  return sides.map((s) => ({ side: s.side, label: s.label, store: s.store, durability: s.durability.class, setting: s.durability.setting, caveat: s.durability.caveat ?? null }));
}

export function fsyncRecord(env: Environment): { p50: number; p99: number; samples: number } {
  return { p50: env.fsyncP50Ms, p99: env.fsyncP99Ms, samples: env.fsyncSamples };
}

export function meetsTarget(f: Figure): boolean | null {
  const rw = f.values.runway;
  if (!rw || f.target === undefined) return null;
  return f.better === "higher" ? rw.median >= f.target : rw.median <= f.target;
}

function num(value: number, unit: FigureBase["unit"]): string {
  return unit === "ms"
    ? value.toFixed(3)
    : value.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/** The median, and the range of the runs in brackets whenever there was more than one. */
export function cell(s: Summary | null | undefined, unit: FigureBase["unit"]): string {
  if (!s) return "-";
  if (s.runs.length === 1) return num(s.median, unit);
  return `${num(s.median, unit)} (${num(s.min, unit)}–${num(s.max, unit)})`;
}

function targetCell(f: Figure): string {
  if (f.target === undefined) return "-";
  return `${f.better === "higher" ? "≥" : "≤"} ${f.unit === "ms" ? String(f.target) : num(f.target, f.unit)}`;
}

function statusCell(f: Figure): string {
  const met = meetsTarget(f);
  if (met === null) return "-";
  if (met) return "met";
  const m = f.values.runway!.median;
  return f.better === "higher"
    ? `SHORT (${Math.round((m / f.target!) * 100)}% of target)`
    : `SHORT (${(m / f.target!).toFixed(2)}× target)`;
}

/** Rows of cells as aligned text lines: the first two columns to the left, the rest to the right. */
function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? "")].length)));
  return rows.map((r) =>
    r
      .map((v, c) => (c === 0 || c === 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!)))
      .join("   ")
      .trimEnd(),
  );
}

export function renderHeader(env: Environment, config: RunConfig): string[] {
  const v = versions(env);
  return [
    `runway benchmark (${config.mode}; ${config.runs === 1 ? "1 run per figure" : `median of ${config.runs} runs per figure, min–max in brackets`})`,
    "",
    `node ${env.node}   ${env.cpu} × ${env.cores}`,
    `versions   ${Object.entries(v).map(([k, x]) => `${k} ${x}`).join(", ")}`,
  ];
}

/** The heading rows, a rule under them, the other rows and a blank line. */
export function tableLines(rows: string[][], headRows = 1): string[] {
  const table = pad(rows);
  return [...table.slice(0, headRows), "-".repeat(Math.max(...table.map((l) => [...l].length))), ...table.slice(headRows), ""];
}

/** One line per side: its class and the settings it follows from. */
export function durabilityLines(sides: readonly SideColumn[]): string[] {
  const w = Math.max(...sides.map((s) => s.label.length));
  return sides.map((s, i) => `${i === 0 ? "durability " : "           "}  ${s.label.padEnd(w)}  ${durabilityLine(s.durability)}`);
}

/**
 * Columns: one per side (its label over its class), then one ratio column per runway side, each
 * against the best peer of that side's class.
 */
export function comparedRows(
  figures: readonly (FigureBase & { values: Partial<Record<string, Summary>> })[],
  sides: readonly SideColumn[],
  valueOf: (f: FigureBase & { values: Partial<Record<string, Summary>> }, s: SideColumn) => Summary | undefined = (f, s) => f.values[s.side],
): { head: string[][]; body: string[][] } {
  const ours = sides.filter((s) => s.runway);
  const head = [
    ["figure", "unit", ...sides.map((s) => s.label), ...ours.map((s) => `${s.label} vs peer`)],
    ["", "", ...sides.map((s) => `[${s.durability.class}]`), ...ours.map((s) => `[${s.durability.class}]`)],
  ];
  const body = figures.map((f) => {
    const ratios = classRatios(f, sides);
    return [f.label, f.unit, ...sides.map((s) => cell(valueOf(f, s), f.unit)), ...ours.map((s) => ratioText(ratios.find((r) => r.side === s.side), sides))];
  });
  return { head, body };
}

export const RATIO_NOTE =
  "vs peer: above 1 means the runway side is better (throughput side/peer, latency peer/side), against the best peer of its own durability class; " +
  "a class with no peer says so.";

export function renderTable(env: Environment, notes: string[], figures: Figure[], sides: readonly SideColumn[]): string[] {
  const lines = [
    "SQLite: runway and BullMQ",
    `SQLite ${env.sqlite} (better-sqlite3 ${env.betterSqlite3})   BullMQ ${env.bullmq} (ioredis ${env.ioredis})   Redis ${env.redis}`,
    fsyncLine(env),
    ...durabilityLines(sides),
    "",
  ];
  const { head, body } = comparedRows(figures, sides);
  head[0]!.push("target", "runway vs target");
  head[1]!.push("", "");
  body.forEach((row, i) => row.push(targetCell(figures[i]!), statusCell(figures[i]!)));
  lines.push(...tableLines([...head, ...body], 2));
  lines.push(RATIO_NOTE);
  lines.push(...notes);
  return lines;
}

/** The run's environment, first in the JSON lines and the results file. */
export function environmentRecords(env: Environment, config: RunConfig): object[] {
  return [
    { type: "environment", ...env, versions: versions(env), durability: Object.fromEntries(["runway", "runway-full", "bullmq", "runway-pg", "runway-pg-async", "runway-shell", "tsp"].flatMap((s) => {
      const d = sideDurability(env, s);
      return d ? [[s, d]] : [];
    })), fsyncMs: fsyncRecord(env), mode: config.mode, runs: config.runs },
    {
      type: "figure",
      id: "disk-fsync-4k",
      label: "disk fsync (4 KiB write + fdatasync)",
      unit: "ms",
      p50: env.fsyncP50Ms,
      p99: env.fsyncP99Ms,
      samples: env.fsyncSamples,
    },
  ];
}

export function jsonRecords(env: Environment, figures: Figure[], sides: readonly SideColumn[], notes: string[]): object[] {
  if (figures.length === 0) return [];
  return [
    { type: "table", table: "sqlite", title: "SQLite: runway and BullMQ", fsyncMs: fsyncRecord(env), sides: sideRecords(sides), notes },
    ...figures.map((f) => ({
      type: "figure",
      table: "sqlite",
      id: f.id,
      label: f.label,
      unit: f.unit,
      better: f.better,
      target: f.target === undefined ? null : { op: f.better === "higher" ? ">=" : "<=", value: f.target, of: "runway" },
      meetsTarget: meetsTarget(f),
      values: valueRecords(f, sides),
      ratios: classRatios(f, sides),
    })),
  ];
}
