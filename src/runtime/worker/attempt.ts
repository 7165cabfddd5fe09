import type { AbortKind, AttemptAborted } from "../../core/handler.js";
import type { Job } from "../../core/job.js";
import type { Finish } from "../../store/store.js";

/** One claimed job in this worker: running, or ended with its outcome not yet written. */
export interface Attempt {
  job: Job;
  token: number;
  /** Made when the handler first reads its signal: most never do, and each costs about half a kilobyte. */
  controller: AbortController | null;
  abortKind: AbortKind | null;
  /** Why the attempt was asked to stop, kept for a signal made after the fact. */
  abortReason: AttemptAborted | null;
  /** The store no longer holds this worker's lease: write nothing more for it. */
  lost: boolean;
  /** The handler has returned and its outcome is on its way to the store: lease checks no longer apply. */
  finishing: boolean;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
}

/** An attempt's outcome waiting to be written, with what its events need. */
export interface Ending {
  finish: Finish;
  attempt: Attempt;
  result?: unknown;
}

export function newAttempt(job: Job, token: number, finishing = false): Attempt {
  return {
    job,
    token,
    controller: null,
    abortKind: null,
    abortReason: null,
    lost: false,
    finishing,
    startedAt: Date.now(),
    timer: null,
    done: Promise.resolve(),
  };
}

/**
 * A worker's attempts by job id. One whose handler has returned no longer takes a slot: the
 * next claim may fill the slot while that outcome is still on its way to the store.
 */
export class Attempts {
  private readonly byId = new Map<string, Attempt>();
  private finishingCount = 0;

  /** Every attempt held, finishing ones included. */
  get size(): number {
    return this.byId.size;
  }

  /** Slots taken: attempts whose handler is still running. */
  get busy(): number {
    return this.byId.size - this.finishingCount;
  }

  get(id: string): Attempt | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Attempt> {
    return this.byId.values();
  }

  add(a: Attempt): void {
    this.byId.set(a.job.id, a);
    if (a.finishing) this.finishingCount++;
  }

  markFinishing(a: Attempt): void {
    a.finishing = true;
    this.finishingCount++;
  }

  /** false when the attempt was no longer held (already ended). */
  remove(a: Attempt): boolean {
    if (this.byId.get(a.job.id) !== a) return false;
    this.byId.delete(a.job.id);
    if (a.finishing) this.finishingCount--;
    return true;
  }
}
