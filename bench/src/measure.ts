import type { FigureBase } from "./report.js";
import type { Side, SideName } from "./side.js";
import { type Summary, summarize } from "./stats.js";

export interface Workload<F extends FigureBase = FigureBase> {
  /** What --only selects; several workloads may share one (a figure and its extra rows). */
  id: string;
  figures: F[];
  /** The sides that run it; every side of the table when absent. */
  sides?: readonly SideName[];
  /** A run thrown away before the measured ones, for workloads whose own loop has no warm-up part. */
  warmup?: (side: Side) => Promise<unknown>;
  /** One value per figure, in the order of `figures`. */
  run: (side: Side) => Promise<number[]>;
}

export interface Measured<F extends FigureBase = FigureBase> {
  def: F;
  /** Only the sides that ran the workload. */
  bySide: Map<SideName, Summary>;
}

export async function measure<F extends FigureBase>(
  plan: Workload<F>[],
  allSides: Side[],
  runs: number,
  log: (line: string) => void,
): Promise<Measured<F>[]> {
  const out: Measured<F>[] = [];
  for (const w of plan) {
    const sides = w.sides ? allSides.filter((s) => w.sides!.includes(s.name)) : allSides;
    if (sides.length === 0) continue;
    const measured = new Map<SideName, number[][]>(sides.map((s) => [s.name, []]));
    for (const side of sides) {
      if (!w.warmup) continue;
      log(`${w.id}: ${side.name} warm-up`);
      await w.warmup(side);
    }
    for (let run = 0; run < runs; run++) {
      // Alternating which side goes first keeps slow drift (page cache, CPU clocks) from favouring one.
      const order = run % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const v = await w.run(side);
        measured.get(side.name)!.push(v);
        const shown = v.map((x, i) => `${w.figures[i]!.unit === "ms" ? x.toFixed(3) : Math.round(x).toLocaleString("en-US")} ${w.figures[i]!.unit}`);
        log(`${w.id}: ${side.name} run ${run + 1}/${runs}: ${shown.join(", ")}`);
      }
    }
    for (const [i, def] of w.figures.entries()) {
      const bySide = new Map<SideName, Summary>();
      for (const [name, results] of measured) bySide.set(name, summarize(results.map((r) => r[i]!)));
      out.push({ def, bySide });
    }
  }
  return out;
}
