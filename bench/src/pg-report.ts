import { type Environment, fsyncLine } from "./environment.js";
import {
  type FigureBase,
  RATIO_NOTE,
  type SideColumn,
  cell,
  classRatios,
  comparedRows,
  durabilityLines,
  fsyncRecord,
  ratioText,
  sideRecords,
  tableLines,
  valueRecords,
} from "./report.js";
import type { PgSideName } from "./side.js";
import type { Summary } from "./stats.js";

export interface PgFigure extends FigureBase {
  values: Partial<Record<PgSideName, Summary>>;
}

export interface PgTableText {
  /** One line each on what was configured how, printed under the versions. */
  configs: string[];
  notes: string[];
}

export const PG_TITLE = "PostgreSQL: runway-pg, graphile-worker and pg-boss";

/**
 * The columns: graphile-worker's defaults rows share graphile-worker's column when both ran (they
 * are of one class and never on the same row); the ratios still name the side that was measured.
 */
function columns(sides: readonly SideColumn[]): { shown: SideColumn[]; valueOf: (f: FigureBase & { values: Partial<Record<string, Summary>> }, s: SideColumn) => Summary | undefined } {
  const merged = sides.some((s) => s.side === "graphile");
  const shown = merged ? sides.filter((s) => s.side !== "graphile-default") : [...sides];
  return {
    shown,
    valueOf: (f, s) => (merged && s.side === "graphile" ? (f.values.graphile ?? f.values["graphile-default"]) : f.values[s.side]),
  };
}

export function renderPgTable(env: Environment, figures: PgFigure[], text: PgTableText, sides: readonly SideColumn[]): string[] {
  const p = env.postgres;
  const lines = [PG_TITLE];
  if (p) lines.push(`PostgreSQL ${p.version} at ${p.url}   graphile-worker ${p.graphileWorker}   pg-boss ${p.pgBoss}   pg ${p.pg}`);
  lines.push(fsyncLine(env), ...durabilityLines(sides), ...text.configs, "");
  const { shown, valueOf } = columns(sides);
  // The ratios are taken over every side, graphile-worker's defaults included.
  const { head } = comparedRows(figures, shown, valueOf);
  const ours = shown.filter((s) => s.runway);
  const body = figures.map((f) => {
    const ratios = classRatios(f, sides);
    return [
      f.label,
      f.unit,
      ...shown.map((s) => cell(valueOf(f, s), f.unit)),
      ...ours.map((s) => ratioText(ratios.find((x) => x.side === s.side), sides)),
    ];
  });
  lines.push(...tableLines([...head, ...body], 2));
  lines.push(RATIO_NOTE);
  lines.push(...text.notes);
  return lines;
}

export function pgJsonRecords(env: Environment, figures: PgFigure[], text: PgTableText, sides: readonly SideColumn[]): object[] {
  if (figures.length === 0) return [];
  return [
    { type: "table", table: "postgresql", title: PG_TITLE, fsyncMs: fsyncRecord(env), sides: sideRecords(sides), configs: text.configs, notes: text.notes },
    ...figures.map((f) => ({
      type: "figure",
      table: "postgresql",
      id: f.id,
      label: f.label.trim(),
      unit: f.unit,
      better: f.better,
      target: null,
      values: valueRecords(f, sides),
      ratios: classRatios(f, sides),
    })),
  ];
}
