import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { Job, QueueState } from "../core/job.js";
import { type JobView, jobJson } from "../core/job-view.js";
import { shellLogPath } from "../executors/shell.js";
import type { Runway } from "../runtime/runway.js";

export type FeedEvent =
  | { type: "added"; job: JobView }
  | { type: "started"; job: JobView }
  | { type: "progress"; job: JobView }
  | { type: "log"; jobId: string; attempt: number; line: string }
  | { type: "completed" | "failed" | "cancelled" | "skipped"; job: JobView; durationMs: number | null }
  | { type: "queue"; queue: string; state: QueueState; concurrency: number | null }
  | { type: "drained"; queue: string };

const FINISHED = new Set(["completed", "failed", "cancelled", "skipped"]);
/** Lines of a running job's log sent per look, at most: a chatty job cannot flood the stream. */
const MAX_LOG_LINES = 200;

/**
 * What happens in the store, as events, whoever causes it: any worker on any machine, the CLI,
 * this server. It looks when the store says something changed (and every second regardless):
 * jobs added since the last id seen, jobs that ended since the last end seen, the running set
 * (new ones started; progress changed), queue states, and new lines in running shell jobs' logs
 * when they are on this machine. Every look reads indexed slices, never the whole table.
 */
export class EventFeed {
  private readonly listeners = new Set<(e: FeedEvent) => void>();
  /** Subscribers that want log lines (event streams); reading logs is skipped while there are none. */
  private logReaders = 0;
  private lastId = "";
  private lastFinishedAt = 0;
  private readonly seenFinished = new Set<string>();
  private running = new Map<string, string>();
  private queues = new Map<string, { state: QueueState; concurrency: number | null }>();
  private readonly busyQueues = new Set<string>();
  private readonly logOffsets = new Map<string, number>();
  private unwatch: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private looking: Promise<void> | null = null;
  private again = false;
  private lastLook = 0;
  /** Workers seen holding running jobs in the last look. */
  workers = 0;

  constructor(
    private readonly rw: Runway,
    private readonly home: string,
  ) {}

  async start(): Promise<void> {
    // The present is the starting point: only what happens from now on is news.
    const newest = await this.rw.list({ order: "recent", limit: 1 });
    this.lastId = newest[0]?.id ?? "";
    this.lastFinishedAt = Date.now();
    for (const j of await this.rw.list({ status: ["running"], limit: 10_000 })) this.running.set(j.id, JSON.stringify(j.progress));
    for (const q of await this.rw.queues()) this.queues.set(q.name, { state: q.state, concurrency: q.concurrency });
    this.unwatch = this.rw.watch(() => this.poke());
    this.timer = setInterval(() => this.poke(), 1000);
    this.timer.unref();
  }

  stop(): void {
    this.unwatch?.();
    if (this.timer) clearInterval(this.timer);
  }

  subscribe(fn: (e: FeedEvent) => void, opts: { logs?: boolean } = {}): () => void {
    this.listeners.add(fn);
    if (opts.logs) this.logReaders++;
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      this.listeners.delete(fn);
      if (opts.logs) this.logReaders--;
    };
  }

  private emit(e: FeedEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  /** At most one look at a time and about four a second under a stream of changes. */
  private poke(): void {
    if (this.looking) {
      this.again = true;
      return;
    }
    const wait = Math.max(0, this.lastLook + 250 - Date.now());
    this.looking = new Promise<void>((r) => setTimeout(r, wait))
      .then(() => this.look())
      .catch(() => undefined)
      .finally(() => {
        this.looking = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async look(): Promise<void> {
    this.lastLook = Date.now();
    const since = this.lastFinishedAt;
    // Added since the last id seen: ids grow with time, so this walks the primary key.
    for (;;) {
      const added = await this.rw.list({ order: "added", after: this.lastId || "0", limit: 500 });
      for (const j of added) {
        this.lastId = j.id;
        this.busyQueues.add(j.queue);
        this.emit({ type: "added", job: jobJson(j) });
      }
      if (added.length < 500) break;
    }
    const running = await this.rw.list({ status: ["running"], limit: 10_000 });
    const now = new Map<string, string>();
    const workers = new Set<string>();
    for (const j of running) {
      const progress = JSON.stringify(j.progress);
      now.set(j.id, progress);
      if (j.workerId) workers.add(j.workerId);
      this.busyQueues.add(j.queue);
      const before = this.running.get(j.id);
      if (before === undefined) this.emit({ type: "started", job: jobJson(j) });
      else if (before !== progress) this.emit({ type: "progress", job: jobJson(j) });
      this.tailLog(j);
    }
    this.running = now;
    this.workers = workers.size;
    for (const id of this.logOffsets.keys()) if (!now.has(id.split("#")[0]!)) this.logOffsets.delete(id);
    // Ended since the last look (a second of overlap, de-duplicated, for ends stamped a moment
    // late), page by page on the (finished_at, id) cursor however many there were.
    let after: string | undefined;
    for (;;) {
      const ended = await this.rw.list({ order: "finished", finishedSince: since - 1000, limit: 2000, ...(after ? { after } : {}) });
      for (const j of ended) {
        this.lastFinishedAt = Math.max(this.lastFinishedAt, j.finishedAt ?? 0);
        const key = `${j.id}:${j.status}:${j.finishedAt}`;
        if (this.seenFinished.has(key) || !FINISHED.has(j.status)) continue;
        this.seenFinished.add(key);
        this.busyQueues.add(j.queue);
        const durationMs = j.startedAt !== null && j.finishedAt !== null ? j.finishedAt - j.startedAt : null;
        this.emit({ type: j.status as "completed", job: jobJson(j), durationMs });
      }
      if (ended.length < 2000) break;
      after = ended[ended.length - 1]!.id;
    }
    if (this.seenFinished.size > 50_000) this.seenFinished.clear();
    for (const q of await this.rw.queues()) {
      const before = this.queues.get(q.name);
      if (!before || before.state !== q.state || before.concurrency !== q.concurrency) {
        this.emit({ type: "queue", queue: q.name, state: q.state, concurrency: q.concurrency });
      }
      this.queues.set(q.name, { state: q.state, concurrency: q.concurrency });
    }
    for (const queue of [...this.busyQueues]) {
      if (await this.rw.isDrained(queue)) {
        this.busyQueues.delete(queue);
        this.emit({ type: "drained", queue });
      }
    }
  }

  /** New whole lines of a running shell job's log, when the log is on this machine. */
  private tailLog(job: Job): void {
    if (job.kind !== "shell" || this.logReaders === 0 || job.attempt < 1) return;
    const path = shellLogPath(this.home, job.id, job.attempt);
    const key = `${job.id}#${job.attempt}`;
    if (!existsSync(path)) return;
    const size = statSync(path).size;
    const from = this.logOffsets.get(key) ?? 0;
    if (size <= from) return;
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(Math.min(size - from, 64 * 1024));
      readSync(fd, buf, 0, buf.length, from);
      const text = buf.toString("utf8");
      const cut = text.lastIndexOf("\n");
      if (cut < 0) return;
      this.logOffsets.set(key, from + Buffer.byteLength(text.slice(0, cut + 1)));
      const lines = text.slice(0, cut).split("\n");
      for (const line of lines.slice(-MAX_LOG_LINES)) this.emit({ type: "log", jobId: job.id, attempt: job.attempt, line });
    } finally {
      closeSync(fd);
    }
  }
}
