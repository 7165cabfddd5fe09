import { JOB_STATUSES, type Attempt, type Backoff, type Job, type QueueStats, backoffDelay } from "../../src/index.js";
import { type Paint, padEnd, padStart, visibleWidth } from "./ansi.js";
import type { Board } from "./board.js";
import { jobLabel, ms, readable, shortId } from "./render.js";

export interface Story {
  stats: QueueStats[];
  /** The escalation chain of the job that kept failing, first to last. */
  chain: Job[];
  attemptsOf: Map<string, Attempt[]>;
  flaky: Job | undefined;
  cancelled: Job | undefined;
}

function table(rows: string[][], rightFrom: number): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => visibleWidth(r[i]!))));
  return rows.map((r) => `  ${r.map((c, i) => (i >= rightFrom ? padStart(c, widths[i]!) : padEnd(c, widths[i]!))).join("  ")}`);
}

function outcomeOf(outcome: string, paint: Paint): string {
  const padded = padEnd(outcome, 9);
  return outcome === "completed" ? paint.green(padded) : outcome === "failed" ? paint.red(padded) : padded;
}

/**
 * Each attempt, and between two of them the backoff runway set and when the next attempt really
 * started (later than the backoff when every slot of the queue was busy).
 */
function timeline(attempts: Attempt[], backoff: Backoff, paint: Paint, indent: string): string[] {
  const lines: string[] = [];
  attempts.forEach((a, i) => {
    lines.push(`${indent}attempt ${a.attempt}  ${outcomeOf(a.outcome, paint)}  ${padStart(ms(a.finishedAt - a.startedAt), 6)}  ${a.error ?? ""}`);
    const next = attempts[i + 1];
    if (next) {
      const planned = backoffDelay(backoff, a.attempt);
      const actual = next.startedAt - a.finishedAt;
      const late = actual - planned > 50 ? paint.dim(` (next attempt started after ${ms(actual)}: no free slot sooner)`) : "";
      lines.push(`${indent}${paint.yellow(`backoff ${ms(planned)}`)}${late}`);
    }
  });
  return lines;
}

export function summarise(story: Story, board: Board, paint: Paint): string[] {
  const out: string[] = [];
  const head = (s: string) => out.push("", paint.bold(s));

  head("Final counts by status per queue (rw.stats())");
  const rows = [["queue", ...JOB_STATUSES, "total"].map((h) => paint.dim(h))];
  for (const s of story.stats) {
    const total = JOB_STATUSES.reduce((n, st) => n + s.counts[st], 0);
    rows.push([
      s.queue,
      ...JOB_STATUSES.map((st) => {
        const n = s.counts[st];
        if (n === 0) return paint.dim("0");
        return st === "completed" ? paint.green(String(n)) : st === "failed" ? paint.red(String(n)) : String(n);
      }),
      paint.bold(String(total)),
    ]);
  }
  out.push(...table(rows, 1));

  const first = story.chain[0];
  if (first) {
    head(`Escalation chain of "${first.name ?? first.kind}" (rw.chain())`);
    story.chain.forEach((j, i) => {
      out.push(`  ${i + 1}. [${shortId(j.id)}] ${j.kind}: ${outcomeOf(j.status, paint).trimEnd()}, ${j.attempts} of ${j.maxAttempts} attempts used`);
      out.push(...timeline(story.attemptsOf.get(j.id) ?? [], j.backoff, paint, "       "));
      if (j.escalatedTo) out.push(`       ${paint.magenta(readable(board, j.reason ?? ""))}`);
      else if (j.status === "completed") out.push(`       result ${JSON.stringify(j.result)}`);
    });
    const last = story.chain[story.chain.length - 1]!;
    const everyJob = board.queues().flatMap((q) => board.rows(q));
    const followers = story.chain.length > 1 ? everyJob.filter((j) => j.dependsOn.includes(last.id)) : [];
    for (const f of followers) {
      out.push(`  ${jobLabel(board, f.id)} depended on [${shortId(first.id)}]; it waited on [${shortId(last.id)}] instead and ended ${f.status}`);
    }
  }

  if (story.flaky && (story.attemptsOf.get(story.flaky.id)?.length ?? 0) > 0) {
    const b = story.flaky.backoff;
    head(`Retries of "${story.flaky.name}" (${b.strategy} backoff, base ${ms(b.baseMs)})`);
    out.push(...timeline(story.attemptsOf.get(story.flaky.id) ?? [], b, paint, "  "));
  }

  if (story.cancelled?.status === "cancelled") {
    const c = story.cancelled;
    head("Cancelled, and what it took with it");
    out.push(`  ${jobLabel(board, c.id)}: ${c.reason ?? c.status}`);
    for (const q of board.queues()) {
      for (const j of board.rows(q)) {
        if (j.status === "skipped" && (j.reason ?? "").includes(c.id)) out.push(`  ${jobLabel(board, j.id)} skipped: ${readable(board, j.reason ?? "")}`);
      }
    }
  }
  return out;
}
