import { JOB_STATUSES, type Job, type JobStatus, type Json } from "../../src/index.js";
import { type Paint, type Tone, cursor, padEnd, tone, truncate, visibleWidth } from "./ansi.js";
import type { Board } from "./board.js";

/** One line of the story: what happened, to which job, when. */
export interface DemoEvent {
  at: number;
  verb: string;
  tone: Tone;
  job?: Job;
  text: string;
}

export interface View {
  event(e: DemoEvent): void;
  start(): void;
  /** Leaves the last state on screen. */
  stop(): void;
}

export interface ViewContext {
  board: Board;
  paint: Paint;
  startedAt: number;
  dbLabel: string;
  concurrency: ReadonlyMap<string, number | null>;
}

const STATUS_TONE: Record<JobStatus, Tone> = {
  queued: "cyan",
  scheduled: "yellow",
  blocked: "magenta",
  running: "blue",
  completed: "green",
  failed: "red",
  cancelled: "gray",
  skipped: "gray",
};

const PRIORITY_TONE: Record<string, Tone> = { critical: "red", high: "yellow", normal: "plain", low: "gray" };

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function shortId(id: string): string {
  return id.slice(-6);
}

export function ms(n: number): string {
  const v = Math.max(0, Math.round(n));
  return v < 1000 ? `${v}ms` : `${(v / 1000).toFixed(1)}s`;
}

export function jobLabel(board: Board, id: string): string {
  const j = board.get(id);
  return j ? `${j.name ?? j.kind} [${shortId(id)}]` : `[${shortId(id)}]`;
}

/** Reasons the store writes name jobs by full id; people recognise names. */
export function readable(board: Board, text: string): string {
  return text
    .replace(/\b[0-9a-z]{26}\b/g, (id) => (board.get(id) ? jobLabel(board, id) : `[${shortId(id)}]`))
    .replace(/^upstream job (.*) cancelled$/, "upstream job $1 was cancelled")
    .replace(/^upstream job (.*) failed$/, "upstream job $1 failed");
}

function bar(p: Json | null): string {
  if (!p || typeof p !== "object" || Array.isArray(p)) return "";
  const step = typeof p.step === "number" ? p.step : 0;
  const of = typeof p.of === "number" && p.of > 0 ? p.of : 0;
  const note = typeof p.note === "string" ? p.note : "";
  const cells = of > 0 ? `[${"#".repeat(Math.min(step, of))}${"-".repeat(Math.max(0, of - step))}] ` : "";
  return `${cells}${note}`;
}

export function notes(job: Job, ctx: ViewContext, now: number): string {
  const { board, paint } = ctx;
  switch (job.status) {
    case "queued":
      if (job.escalatedFrom) return `took over from ${jobLabel(board, job.escalatedFrom)}, waiting for a slot`;
      return paint.dim(job.attempt > 0 ? `retry due · last error: ${job.error ?? ""}` : "waiting for a slot");
    case "scheduled":
      if (job.attempt > 0) {
        return `${paint.yellow(`retry ${job.attempts + 1}/${job.maxAttempts} in ${ms(job.runAt - now)}`)} · last error: ${job.error ?? ""}`;
      }
      return `starts in ${ms(job.runAt - now)} (added with a delay)`;
    case "blocked": {
      const open = job.dependsOn.filter((d) => board.get(d)?.status !== "completed");
      const list = open.length ? open : job.dependsOn;
      return `waiting on ${list.map((d) => jobLabel(board, d)).join(", ")}`;
    }
    case "running": {
      const progress = bar(board.progress(job));
      const log = board.lastLog(job.id);
      return [progress, log ? paint.dim(`| ${log}`) : ""].filter(Boolean).join("  ");
    }
    case "completed": {
      const parts = [`done in ${ms((job.finishedAt ?? now) - (job.startedAt ?? now))}`];
      if (job.attempt > 1) parts.push(`on attempt ${job.attempt}`);
      if (job.escalatedFrom) parts.push(`took over from ${jobLabel(board, job.escalatedFrom)}`);
      return parts.join(" · ");
    }
    case "failed":
      if (job.escalatedTo) {
        const to = board.get(job.escalatedTo);
        return `${paint.yellow(`escalated to [${shortId(job.escalatedTo)}]${to ? ` (${to.kind})` : ""}`)} · ${job.error ?? ""}`;
      }
      return paint.red(job.error ?? "failed");
    case "cancelled":
    case "skipped":
      return readable(board, job.reason ?? job.status);
  }
}

const COLUMNS = [
  { title: "ID", width: 6 },
  { title: "NAME", width: 19 },
  { title: "KIND", width: 7 },
  { title: "PRIORITY", width: 8 },
  { title: "STATUS", width: 9 },
  { title: "TRY", width: 3 },
];

/** On a narrow terminal the id column goes, so the notes keep some room; names still tell jobs apart. */
export const NARROW_BELOW = 110;

function rowLine(cells: string[], tail: string, narrow: boolean): string {
  const shown = cells.map((c, i) => padEnd(c, COLUMNS[i]!.width)).filter((_, i) => !(narrow && i === 0));
  return `  ${shown.join("  ")}  ${tail}`;
}

export function headerLine(paint: Paint, narrow = false): string {
  return paint.dim(rowLine(COLUMNS.map((c) => c.title), "NOTES", narrow));
}

export function jobLine(job: Job, ctx: ViewContext, now: number, frame: number | null, narrow = false): string {
  const { paint } = ctx;
  const spin = frame !== null && job.status === "running" ? ` ${SPINNER[frame % SPINNER.length]}` : "";
  return rowLine(
    [
      paint.dim(shortId(job.id)),
      job.name ?? job.kind,
      job.kind,
      tone(paint, PRIORITY_TONE[job.priority] ?? "plain", job.priority),
      tone(paint, STATUS_TONE[job.status], job.status) + spin,
      `${job.attempts}/${job.maxAttempts}`,
    ],
    notes(job, ctx, now),
    narrow,
  );
}

export function queueLine(queue: string, ctx: ViewContext): string {
  const { board, paint } = ctx;
  // Running first: that is what the limit applies to.
  const counts = new Map<JobStatus, number>(["running", ...JOB_STATUSES].map((s) => [s as JobStatus, 0]));
  for (const j of board.rows(queue)) counts.set(j.status, counts.get(j.status)! + 1);
  const c = ctx.concurrency.get(queue);
  const limit = c === undefined ? "" : c === null ? "no concurrency limit" : `concurrency ${c}`;
  const summary = [...counts].filter(([, n]) => n > 0).map(([s, n]) => tone(paint, STATUS_TONE[s], `${n} ${s}`)).join(", ");
  return `${paint.bold(queue)}  ${paint.dim(limit)}  ${summary}`;
}

export function eventLine(e: DemoEvent, ctx: ViewContext): string {
  const { paint } = ctx;
  const t = paint.gray(`+${((e.at - ctx.startedAt) / 1000).toFixed(2)}s`.padStart(7));
  const verb = tone(paint, e.tone, e.verb.padEnd(10));
  const subject = e.job ? `${jobLabel(ctx.board, e.job.id)}  ` : "";
  return `${t}  ${verb} ${subject}${e.text}`;
}

/** Redraws one block in place: the jobs of every queue, then the latest events. */
export class LiveView implements View {
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly events: string[] = [];

  constructor(
    private readonly ctx: ViewContext,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  start(): void {
    this.out.write(cursor.hide);
    this.draw();
    this.timer = setInterval(() => this.draw(), 90);
  }

  event(e: DemoEvent): void {
    this.events.push(eventLine(e, this.ctx));
    if (this.events.length > 40) this.events.shift();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.draw(true);
    this.out.write(cursor.show);
  }

  private draw(final = false): void {
    const now = Date.now();
    const { board, paint } = this.ctx;
    const width = Math.max(20, (this.out.columns || 100) - 1);
    const narrow = width + 1 < NARROW_BELOW;
    const top = [
      `${paint.bold("runway demo")}  ${paint.dim(`${this.ctx.dbLabel} · ${((now - this.ctx.startedAt) / 1000).toFixed(1)}s`)}`,
      "",
      headerLine(paint, narrow),
    ];
    for (const q of board.queues()) {
      top.push(queueLine(q, this.ctx));
      for (const j of board.rows(q)) top.push(jobLine(j, this.ctx, now, final ? null : this.frame, narrow));
    }
    top.push("", paint.bold("events"));
    // The cursor cannot move above the top of the screen, so the block must fit in it: the
    // event list gives way first.
    const rows = this.out.rows || 24;
    const room = Math.max(2, Math.min(8, rows - 1 - top.length));
    const lines = [...top, ...this.events.slice(-room).map((l) => `  ${l}`)].slice(0, Math.max(1, rows - 1));
    let s = cursor.up(this.drawn) + "\r";
    for (const l of lines) s += `${cursor.clearLine}${visibleWidth(l) > width ? truncate(l, width) : l}\n`;
    s += cursor.clearDown;
    this.out.write(s);
    this.drawn = lines.length;
    this.frame++;
  }
}

/** For logs and pipes: no cursor tricks, one line per event as it happens. */
export class LineView implements View {
  constructor(
    private readonly ctx: ViewContext,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}
  start(): void {}
  stop(): void {}
  event(e: DemoEvent): void {
    this.out.write(`${eventLine(e, this.ctx)}\n`);
  }
}
