/**
 * Positions order jobs inside a priority. A new job's position comes from the clock (ms × 1024
 * plus a counter), so FIFO holds across processes without a shared counter to write on every add;
 * ties inside one millisecond fall back to the id, which is time-sortable too. Moves pick values
 * between neighbours, so positions are reals.
 */
let lastMs = 0;
let seq = 0;

export function nextPosition(now = Date.now()): number {
  if (now > lastMs) {
    lastMs = now;
    seq = 0;
  } else if (++seq >= 1024) {
    lastMs++;
    seq = 0;
  }
  return lastMs * 1024 + seq;
}
