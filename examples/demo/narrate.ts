import type { Job, Runway } from "../../src/index.js";
import type { Board, Change } from "./board.js";
import { type DemoEvent, type View, jobLabel, ms, readable, shortId } from "./render.js";

function brief(value: unknown, max = 60): string {
  const s = JSON.stringify(value) ?? "";
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function tries(job: Job): string {
  return `attempt ${job.attempts}/${job.maxAttempts}`;
}

/**
 * Turns what runway reports into lines of the story, and keeps the board current. Events carry
 * the job as the write left it; reads of the whole list fill in what no event covers.
 */
export class Narrator {
  private refreshing: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly off: (() => void)[] = [];
  private readonly announced = new Set<string>();

  constructor(
    private readonly rw: Runway<any>,
    private readonly board: Board,
    private readonly view: View,
  ) {}

  say(e: Omit<DemoEvent, "at">): void {
    if (!this.closed) this.view.event({ at: Date.now(), ...e });
  }

  listen(): void {
    const on: Runway<any>["on"] = (event, listener) => {
      this.rw.on(event, listener);
      this.off.push(() => this.rw.off(event, listener));
      return this.rw;
    };
    const { board } = this;

    on("added", ({ job }) => {
      board.update(job, Date.now());
      this.announceAdded(job);
    });
    on("started", ({ job }) => {
      board.clearProgress(job.id);
      board.update(job, Date.now());
      this.say({ verb: "started", tone: "blue", job, text: `${job.kind} · ${job.priority} · ${tries(job)}` });
    });
    on("progress", ({ job, progress }) => {
      board.setProgress(job.id, progress);
      const p = progress as { step?: number; of?: number; note?: string } | null;
      const text = p && typeof p === "object" ? `${p.step ?? "?"}/${p.of ?? "?"} ${p.note ?? ""}` : brief(progress);
      this.say({ verb: "progress", tone: "dim", job, text });
    });
    on("log", ({ job, line }) => {
      board.setLog(job.id, line);
      this.say({ verb: "log", tone: "gray", job, text: `| ${line}` });
    });
    on("completed", ({ job, result, durationMs }) => {
      board.update(job, Date.now());
      this.say({ verb: "completed", tone: "green", job, text: `in ${ms(durationMs)} -> ${brief(result)}` });
      // Its dependents may have just become ready; show that before they start.
      this.refresh();
    });
    on("retrying", ({ job, error, retryAt }) => {
      board.update(job, Date.now());
      const b = job.backoff;
      this.say({
        verb: "retrying",
        tone: "yellow",
        job,
        text: `${tries(job)} failed: ${error} · next attempt in ${ms(retryAt - Date.now())} (${b.strategy} backoff, base ${ms(b.baseMs)})`,
      });
    });
    on("failed", ({ job, error }) => {
      board.update(job, Date.now());
      this.say({ verb: "failed", tone: "red", job, text: `${tries(job)}: ${error} · no attempts left` });
      this.refresh();
    });
    on("escalated", ({ job, error }) => {
      board.update(job, Date.now());
      this.say({ verb: "escalated", tone: "magenta", job, text: `${tries(job)} failed: ${error} · ${readable(board, job.reason ?? "")}` });
      this.refresh();
    });
    on("cancelled", ({ job }) => {
      board.update(job, Date.now());
      this.say({ verb: "cancelled", tone: "gray", job, text: readable(board, job.reason ?? "while running") });
      this.refresh();
    });
    on("drained", ({ queue }) => {
      this.say({ verb: "drained", tone: "green", text: `queue ${queue}: nothing left queued, scheduled, blocked or running` });
    });
    on("warning", ({ message }) => {
      this.say({ verb: "warning", tone: "yellow", text: message });
    });
  }

  private waiting(job: Job): string {
    if (job.status === "blocked") return `blocked on ${job.dependsOn.map((d) => jobLabel(this.board, d)).join(", ")}`;
    if (job.status === "scheduled") return `scheduled in ${ms(job.runAt - Date.now())}`;
    return job.status;
  }

  /** Reads every job again and tells what changed without an event. Calls made meanwhile fold into one more read. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        const at = Date.now();
        const jobs = await this.rw.list({ limit: 10_000 });
        if (this.closed) return;
        for (const job of jobs) for (const c of this.board.update(job, at)) this.tell(c);
      } while (this.again && !this.closed);
    })()
      .catch((err: unknown) => this.say({ verb: "warning", tone: "yellow", text: `cannot read the jobs: ${(err as Error).message}` }))
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** A job can be seen first by its event or by a re-read; it is announced once either way. */
  private announceAdded(job: Job): void {
    if (this.announced.has(job.id)) return;
    this.announced.add(job.id);
    const origin = job.escalatedFrom ? ` · successor of ${jobLabel(this.board, job.escalatedFrom)}, by escalation` : "";
    this.say({ verb: "added", tone: "gray", job, text: `${job.kind} · ${job.priority} · ${this.waiting(job)}${origin}` });
  }

  private tell(c: Change): void {
    const { board } = this;
    const job = c.job;
    switch (c.type) {
      case "appeared":
        this.announceAdded(job);
        break;
      case "unblocked":
        this.say({ verb: "unblocked", tone: "cyan", job, text: `every dependency completed · now ${job.status}` });
        break;
      case "skipped":
        this.say({ verb: "skipped", tone: "gray", job, text: readable(board, job.reason ?? "") });
        break;
      case "rewired": {
        const gone = c.from.filter((d) => !job.dependsOn.includes(d));
        const added = job.dependsOn.filter((d) => !c.from.includes(d));
        const list = (ids: string[]) => ids.map((d) => `[${shortId(d)}]`).join(", ");
        this.say({
          verb: "rewired",
          tone: "magenta",
          job,
          text: `now waits on ${added.map((d) => jobLabel(board, d)).join(", ")} instead of ${list(gone)}`,
        });
        break;
      }
    }
  }

  async close(): Promise<void> {
    await this.refreshing;
    this.closed = true;
    for (const f of this.off) f();
  }
}
