import { formatDuration } from "../../core/duration.js";
import type { TypedEmitter } from "../events.js";

/**
 * SIGINT and SIGTERM stop the worker: gracefully the first time, at once the second (as
 * graphile-worker does). Returns what removes the handlers again.
 */
export function stopOnSignals(events: TypedEmitter, graceMs: number, stop: (force: boolean) => void): () => void {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      events.emit("warning", { message: `${sig}: stopping; running jobs get ${formatDuration(graceMs)} to finish (send again to stop now)` });
      stop(false);
    } else {
      events.emit("warning", { message: `${sig} again: putting running jobs back in their queues now` });
      stop(true);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
