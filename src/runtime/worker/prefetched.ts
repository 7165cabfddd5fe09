import type { ClaimedJob, Lease } from "../../store/store.js";

/**
 * Jobs claimed ahead of a free slot (prefetch). They hold leases like running attempts and
 * start in claim order; a cancel or a stopped queue ends them without running.
 */
export class Prefetched {
  private jobs: ClaimedJob[] = [];

  get length(): number {
    return this.jobs.length;
  }

  push(jobs: ClaimedJob[]): void {
    this.jobs.push(...jobs);
  }

  /** The next job to start, in claim order. */
  next(): ClaimedJob | undefined {
    return this.jobs.shift();
  }

  find(id: string): ClaimedJob | undefined {
    return this.jobs.find((c) => c.job.id === id);
  }

  remove(c: ClaimedJob): void {
    const i = this.jobs.indexOf(c);
    if (i >= 0) this.jobs.splice(i, 1);
  }

  /** Empties the buffer, handing back what it held. */
  takeAll(): ClaimedJob[] {
    return this.jobs.splice(0);
  }

  leases(): Lease[] {
    return this.jobs.map((c) => ({ id: c.job.id, token: c.token }));
  }
}
