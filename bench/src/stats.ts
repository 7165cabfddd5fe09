import { percentile } from "./runway-internals.js";

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(runs: readonly number[]): Summary {
  if (runs.length === 0) throw new Error("no runs to summarize");
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  // An even number of runs has no middle one; the mean of the two middles avoids favouring either.
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: [...runs] };
}

/** Nearest-rank, the same definition the store uses for its duration percentiles. */
export function quantile(samples: readonly number[], p: number): number {
  const q = percentile([...samples].sort((a, b) => a - b), p);
  if (q === null) throw new Error("no samples");
  return q;
}
