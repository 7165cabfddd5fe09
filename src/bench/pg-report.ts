import { type Environment, pgDurability } from "./environment.js";
import { type FigureBase, cell, tableLines } from "./report.js";
import type { PgSideName } from "./side.js";
import type { Summary } from "./stats.js";

export interface PgFigure extends FigureBase {
  values: Partial<Record<PgSideName, Summary>>;
}

const PEERS = [
  ["graphile", "graphile-worker"],
  ["pgboss", "pg-boss"],
] as const;

/** Above 1 means runway-pg is better, against whichever peer did best on this figure. */
export function pgRatio(f: PgFigure): { ratio: number; peer: string } | null {
  const rw = f.values["runway-pg"];
  if (!rw || rw.median === 0) return null;
  let best: { median: number; peer: string } | null = null;
  for (const [name, label] of PEERS) {
    const v = f.values[name];
    if (!v || v.median === 0) continue;
    const better = !best || (f.better === "higher" ? v.median > best.median : v.median < best.median);
    if (better) best = { median: v.median, peer: label };
  }
  if (!best) return null;
  return { ratio: f.better === "higher" ? rw.median / best.median : best.median / rw.median, peer: best.peer };
}

function ratioCell(f: PgFigure): string {
  const r = pgRatio(f);
  return r ? `${r.ratio.toFixed(2)}× vs ${r.peer}` : "-";
}

export interface PgTableText {
  /** One line each on what was configured how, printed under the versions. */
  configs: string[];
  notes: string[];
}

export function renderPgTable(env: Environment, figures: PgFigure[], text: PgTableText): string[] {
  const p = env.postgres;
  const lines = ["PostgreSQL: runway-pg, graphile-worker and pg-boss"];
  if (p) {
    lines.push(
      `PostgreSQL ${p.version} at ${p.url}   graphile-worker ${p.graphileWorker}   pg-boss ${p.pgBoss}   pg ${p.pg}`,
      `durability   all three: ${pgDurability(p)}`,
    );
  }
  lines.push(...text.configs, "");
  const rows = [
    ["figure", "unit", "runway-pg", "graphile-worker", "pg-boss", "runway-pg vs best peer"],
    ...figures.map((f) => [
      f.label,
      f.unit,
      cell(f.values["runway-pg"], f.unit),
      // The defaults rows have only graphile-worker, under its own column.
      cell(f.values.graphile ?? f.values["graphile-default"], f.unit),
      cell(f.values.pgboss, f.unit),
      ratioCell(f),
    ]),
  ];
  lines.push(...tableLines(rows));
  lines.push("ratio: above 1 means runway-pg is better (throughput runway-pg/peer, latency peer/runway-pg), against the better peer.");
  lines.push(...text.notes);
  return lines;
}

export function pgJsonRecords(figures: PgFigure[]): object[] {
  return figures.map((f) => {
    const r = pgRatio(f);
    return {
      type: "figure",
      table: "postgresql",
      id: f.id,
      label: f.label.trim(),
      unit: f.unit,
      better: f.better,
      "runway-pg": f.values["runway-pg"] ?? null,
      graphile: f.values.graphile ?? f.values["graphile-default"] ?? null,
      graphileConfig: f.values["graphile-default"] ? "defaults" : "tuned",
      pgboss: f.values.pgboss ?? null,
      ratio: r?.ratio ?? null,
      ratioOf: r ? (f.better === "higher" ? `runway-pg/${r.peer}` : `${r.peer}/runway-pg`) : null,
    };
  });
}
