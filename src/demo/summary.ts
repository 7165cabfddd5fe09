import { JOB_STATUSES, type Attempt, type Backoff, type Job, type QueueStats, backoffDelay } from "../index.js";
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

/**
 * One line per job: each attempt, the backoff runway set before the next one, and when the next
 * one really started (later than the backoff when every slot of the queue was busy).
 */
function timeline(attempts: Attempt[], backoff: Backoff, paint: Paint): string {
  const parts: string[] = [];
  attempts.forEach((a, i) => {
    const outcome = a.outcome === "completed" ? paint.green(a.outcome) : a.outcome === "failed" ? paint.red(a.outcome) : a.outcome;
    parts.push(`attempt ${a.attempt} ${outcome} (${ms(a.finishedAt - a.startedAt)})`);
    const next = attempts[i + 1];
    if (next) {
      const planned = backoffDelay(backoff, a.attempt);
      const actual = next.startedAt - a.finishedAt;
      const late = actual - planned > 50 ? `, started after ${ms(actual)}: no free slot sooner` : "";
      parts.push(paint.yellow(`backoff ${ms(planned)}${late}`));
    }
  });
  return parts.join(" -> ");
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
      const status = j.status === "completed" ? paint.green(j.status) : j.status === "failed" ? paint.red(j.status) : j.status;
      const end = j.escalatedTo ? readable(board, j.reason ?? "") : j.status === "completed" ? `result ${JSON.stringify(j.result)}` : (j.error ?? "");
      out.push(`  ${i + 1}. [${shortId(j.id)}] ${padEnd(j.kind, 6)} ${status} after ${j.attempts} of ${j.maxAttempts} attempts · ${end}`);
      out.push(`     ${timeline(story.attemptsOf.get(j.id) ?? [], j.backoff, paint)}`);
    });
    const last = story.chain[story.chain.length - 1]!;
    const followers = story.chain.length > 1 ? board.rows(last.queue).filter((j) => j.dependsOn.includes(last.id)) : [];
    for (const f of followers) {
      out.push(`  ${jobLabel(board, f.id)} depended on [${shortId(first.id)}]; it waited on [${shortId(last.id)}] instead and ended ${f.status}`);
    }
  }

  if (story.flaky) {
    const b = story.flaky.backoff;
    head(`Retries of "${story.flaky.name}" (${b.strategy} backoff, base ${ms(b.baseMs)})`);
    out.push(`  ${timeline(story.attemptsOf.get(story.flaky.id) ?? [], b, paint)}`);
  }

  if (story.cancelled) {
    const c = story.cancelled;
    head("Cancelled while queued, and what it took with it");
    out.push(`  ${jobLabel(board, c.id)}: ${c.reason ?? c.status}`);
    for (const q of board.queues()) {
      for (const j of board.rows(q)) {
        if (j.status === "skipped" && (j.reason ?? "").includes(c.id)) out.push(`  ${jobLabel(board, j.id)} skipped: ${readable(board, j.reason ?? "")}`);
      }
    }
  }
  return out;
}
