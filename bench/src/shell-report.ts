import { type Environment, fsyncLine } from "./environment.js";
import { type FigureBase, durabilityLines, fsyncRecord, sideColumns, sideRecords, tableLines, valueRecords } from "./report.js";
import type { ShellSideName, ShellTable } from "./shell-bench.js";
import type { Summary } from "./stats.js";

export interface ShellFigure extends FigureBase {
  /** What the issue asks of runway for this figure; null for the rows that only give context. */
  target: number | null;
  /** One measurement both sides are measured against, shown in each side's column. */
  shared?: boolean;
  values: Partial<Record<ShellSideName, Summary>>;
}

export interface ShellTableText {
  configs: string[];
  notes: string[];
}

/**
 * A difference, not a ratio: tsp's overhead above Node's spawn can be near zero or negative,
 * where a ratio says nothing.
 */
export function shellDifference(f: ShellFigure): number | null {
  const rw = f.values["runway-shell"];
  const tsp = f.values.tsp;
  if (f.shared || !rw || !tsp) return null;
  return rw.median - tsp.median;
}

export function shellMeetsTarget(f: ShellFigure): boolean | null {
  const rw = f.values["runway-shell"];
  if (f.target === null || !rw) return null;
  return rw.median <= f.target;
}

/** Milliseconds from a fraction of one to several seconds: three decimals only where they tell something. */
function msCell(s: Summary | undefined): string {
  if (!s) return "-";
  const digits = Math.abs(s.median) >= 100 ? 1 : 3;
  const f = (x: number) => x.toFixed(digits);
  return s.runs.length === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function statusCell(f: ShellFigure): string {
  const met = shellMeetsTarget(f);
  if (met === null) return "-";
  return met ? "met" : `SHORT (${(f.values["runway-shell"]!.median / f.target!).toFixed(2)}× target)`;
}

function differenceCell(f: ShellFigure): string {
  const d = shellDifference(f);
  return d === null ? "-" : `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(Math.abs(d) >= 100 ? 1 : 3)}`;
}

export const SHELL_TITLE = "Shell jobs: runway and task-spooler";

/** The sides that ran: both, or whichever one --side or a missing tsp left. */
function ran(figures: ShellFigure[]): ShellSideName[] {
  const names: ShellSideName[] = ["runway-shell", "tsp"];
  const present = names.filter((n) => figures.some((f) => f.values[n]));
  return present.length > 0 ? present : names;
}

export function renderShellTable(env: Environment, { figures, text, tspVersion }: ShellTable): string[] {
  const lines = [
    SHELL_TITLE,
    `runway CLI on SQLite ${env.sqlite}   task-spooler ${tspVersion ?? "not used"}`,
    fsyncLine(env),
    ...durabilityLines(sideColumns(env, ran(figures))),
    ...text.configs,
    "",
  ];
  if (figures.length > 0) {
    const rows = [
      ["figure", "unit", "runway", "task-spooler", "runway − tsp", "target", "runway vs target"],
      ...figures.map((f) => [
        f.label,
        f.unit,
        msCell(f.values["runway-shell"]),
        msCell(f.values.tsp),
        differenceCell(f),
        f.target === null ? "-" : `≤ ${f.target}`,
        statusCell(f),
      ]),
    ];
    lines.push(...tableLines(rows));
    lines.push("runway − tsp: difference of the medians, in ms; below 0 means runway is faster. The first two rows are shared references.");
    lines.push("the two are of different durability classes (tsp holds its queue in memory): the difference is the cost of a job's way through each, not a like-for-like ratio.");
  }
  lines.push(...text.notes);
  return lines;
}

export function shellJsonRecords(env: Environment, { figures, text, tspVersion, skipped }: ShellTable): object[] {
  const sides = sideColumns(env, ran(figures));
  return [
    { type: "table", table: "shell", title: SHELL_TITLE, tsp: tspVersion, skipped, fsyncMs: fsyncRecord(env), sides: sideRecords(sides), configs: text.configs, notes: text.notes },
    ...figures.map((f) => ({
      type: "figure",
      table: "shell",
      id: f.id,
      label: f.label.trim(),
      unit: f.unit,
      better: f.better,
      shared: f.shared ?? false,
      runway: f.values["runway-shell"] ?? null,
      tsp: f.values.tsp ?? null,
      values: valueRecords(f, sides),
      difference: shellDifference(f),
      differenceOf: "runway-tsp",
      target: f.target === null ? null : { op: "<=", value: f.target },
      meetsTarget: shellMeetsTarget(f),
    })),
  ];
}
