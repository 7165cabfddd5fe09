import type { Job, Json } from "../../src/index.js";

/**
 * Changes the library announces no event for: they are only visible by reading the jobs again,
 * so the demo compares each fresh read with what it held before.
 */
export type Change =
  | { type: "appeared"; job: Job }
  | { type: "unblocked"; job: Job }
  | { type: "skipped"; job: Job }
  | { type: "rewired"; job: Job; from: string[] };

const READY = new Set(["queued", "scheduled", "running", "completed"]);

/** What the demo knows about every job, from events and from reads of the store. */
export class Board {
  private readonly jobs = new Map<string, Job>();
  /** When each job was last read or reported, so a slow read cannot undo a newer event. */
  private readonly seenAt = new Map<string, number>();
  private readonly progressOf = new Map<string, Json>();
  private readonly logOf = new Map<string, string>();
  private readonly told = new Set<string>();

  constructor(private readonly queueOrder: readonly string[]) {}

  update(job: Job, at: number): Change[] {
    const held = this.seenAt.get(job.id);
    if (held !== undefined && held > at) return [];
    const prev = this.jobs.get(job.id);
    this.jobs.set(job.id, job);
    this.seenAt.set(job.id, at);
    if (!prev) return [{ type: "appeared", job }];
    const changes: Change[] = [];
    // A stale read can flip a job back and forth once; each change is reported only once.
    if (prev.status === "blocked" && READY.has(job.status) && this.once("unblocked", job.id)) {
      changes.push({ type: "unblocked", job });
    }
    if (job.status === "skipped" && this.once("skipped", job.id)) changes.push({ type: "skipped", job });
    if (!sameMembers(prev.dependsOn, job.dependsOn) && this.once(`rewired:${job.dependsOn.join(",")}`, job.id)) {
      changes.push({ type: "rewired", job, from: prev.dependsOn });
    }
    return changes;
  }

  private once(what: string, id: string): boolean {
    const key = `${what}:${id}`;
    if (this.told.has(key)) return false;
    this.told.add(key);
    return true;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Progress reported after the job was last read is newer than the job's own copy. */
  setProgress(id: string, value: Json): void {
    this.progressOf.set(id, value);
  }
  progress(job: Job): Json | null {
    return this.progressOf.get(job.id) ?? job.progress;
  }
  /** A new attempt starts from nothing; the last one's progress would only mislead. */
  clearProgress(id: string): void {
    this.progressOf.delete(id);
  }

  setLog(id: string, line: string): void {
    this.logOf.set(id, line);
  }
  lastLog(id: string): string | undefined {
    return this.logOf.get(id);
  }

  /**
   * Jobs in the order they were added (ids sort by creation time), except that a job handed on
   * by escalation sits right under the job it took over from.
   */
  rows(queue: string): Job[] {
    const rootOf = (job: Job): string => {
      let cur = job;
      for (let hops = 0; cur.escalatedFrom && hops < 50; hops++) {
        const prev = this.jobs.get(cur.escalatedFrom);
        if (!prev) break;
        cur = prev;
      }
      return cur.id;
    };
    return [...this.jobs.values()]
      .filter((j) => j.queue === queue)
      .map((j) => ({ j, root: rootOf(j) }))
      .sort((a, b) => compare(a.root, b.root) || compare(a.j.id, b.j.id))
      .map((x) => x.j);
  }

  queues(): string[] {
    const present = new Set([...this.jobs.values()].map((j) => j.queue));
    const known = this.queueOrder.filter((q) => present.has(q));
    return [...known, ...[...present].filter((q) => !known.includes(q)).sort()];
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
