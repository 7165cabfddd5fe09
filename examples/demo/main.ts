/**
 * `npm run demo`: a small pipeline on a throwaway SQLite file, watched live. Jobs run in priority
 * order, wait for their dependencies, retry with backoff, escalate to another kind, and a
 * cancellation takes its dependents with it; then the final counts.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { type Attempt, type Job, type Runway, isRunwayError, open } from "../../src/index.js";
import { colorWanted, cursor, painter } from "./ansi.js";
import { Board } from "./board.js";
import { Narrator } from "./narrate.js";
import { LineView, LiveView, type View, type ViewContext, ms } from "./render.js";
import {
  CANCEL_AFTER_MS,
  CANCEL_REF,
  type DemoJobs,
  FLAKY_REF,
  PUBLISH,
  RESEARCH,
  SOLVE_REF,
  handlers,
  pipeline,
} from "./scenario.js";
import { type Story, summarise } from "./summary.js";

/** Well past the usual quarter of a minute; only a hang gets here. */
const TIMEOUT_MS = 60_000;

/**
 * A fresh folder each run, so counts never mix with an earlier run and the user's own runway
 * database (~/.runway) is never opened. `.runway-demo/` is gitignored; when the working folder
 * is not writable, a new temporary folder does instead.
 */
function freshDir(): string {
  const preferred = resolve(".runway-demo");
  try {
    rmSync(preferred, { recursive: true, force: true });
    mkdirSync(preferred, { recursive: true });
    return preferred;
  } catch {
    return mkdtempSync(join(tmpdir(), "runway-demo-"));
  }
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

type Ending = "drained" | "timeout" | "interrupted";

function untilDrained(rw: Runway<DemoJobs>, queues: string[], signal: AbortSignal): { done: Promise<Ending>; left: Set<string> } {
  const left = new Set(queues);
  const done = new Promise<Ending>((resolvePromise) => {
    const finish = (how: Ending) => {
      clearTimeout(timer);
      rw.off("drained", onDrained);
      signal.removeEventListener("abort", onAbort);
      resolvePromise(how);
    };
    const onDrained = ({ queue }: { queue: string }) => {
      left.delete(queue);
      if (left.size === 0) finish("drained");
    };
    const onAbort = () => finish("interrupted");
    const timer = setTimeout(() => finish("timeout"), TIMEOUT_MS);
    rw.on("drained", onDrained);
    if (signal.aborted) finish("interrupted");
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return { done, left };
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const dir = freshDir();
  const dbPath = join(dir, "runway.db");
  const live = Boolean(process.stdout.isTTY) && process.env.TERM !== "dumb";
  const paint = painter(live && colorWanted(process.stdout));

  // First Ctrl-C: stop at once but tidily (running attempts go back to their queue); second: leave now.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  if (live) process.on("exit", () => process.stdout.write(cursor.show));

  const rw = open<DemoJobs>({ db: dbPath });
  const board = new Board([RESEARCH, PUBLISH]);
  const concurrency = new Map<string, number | null>();
  const ctx: ViewContext = { board, paint, startedAt, dbLabel: shown(dbPath), concurrency };
  const view: View = live ? new LiveView(ctx) : new LineView(ctx);
  const narrator = new Narrator(rw, board, view);
  let viewStarted = false;
  let cancelTimer: NodeJS.Timeout | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;

  try {
    if (!live) process.stdout.write(`runway demo: one line per event; database ${shown(dbPath)}\n`);
    for (const [name, limit] of [[RESEARCH, 2], [PUBLISH, 1]] as const) {
      const q = await rw.queue(name, { concurrency: limit });
      concurrency.set(q.name, q.concurrency);
    }
    await rw.escalate({ kind: "aider", after: 2, toKind: "codex" });

    narrator.listen();
    view.start();
    viewStarted = true;
    narrator.say({ verb: "rule", tone: "magenta", text: "escalate kind aider after 2 failed attempts to kind codex" });

    const specs = pipeline();
    const jobs = await rw.addMany(specs);
    const byRef = new Map<string, Job>();
    specs.forEach((s, i) => {
      if (s.ref) byRef.set(s.ref, jobs[i]!);
    });

    const drained = untilDrained(rw, [RESEARCH, PUBLISH], interrupt.signal);
    const worker = rw.worker({ concurrency: 4, queues: [RESEARCH, PUBLISH], handlers });
    // Statuses that change without an event (a retry falling due) still show on the board.
    refreshTimer = setInterval(() => void narrator.refresh(), 250);

    const doomed = byRef.get(CANCEL_REF)!;
    cancelTimer = setTimeout(() => {
      void (async () => {
        try {
          const before = board.get(doomed.id)?.status ?? doomed.status;
          const j = await rw.cancel(doomed.id);
          board.update(j, Date.now());
          // A queued job ends right here with no event of its own; a running one would hear its signal.
          narrator.say({
            verb: j.status === "cancelled" ? "cancelled" : "cancel",
            tone: "gray",
            job: j,
            text: j.status === "cancelled" ? `by the demo while still ${before}; what depends on it is skipped` : `asked while ${j.status}`,
          });
          await narrator.refresh();
        } catch (err) {
          narrator.say({ verb: "warning", tone: "yellow", text: `cancel: ${(err as Error).message}` });
        }
      })();
    }, CANCEL_AFTER_MS);

    const ending = await drained.done;
    clearTimeout(cancelTimer);
    clearInterval(refreshTimer);
    if (ending !== "drained") {
      narrator.say({
        verb: "stopping",
        tone: "red",
        text:
          ending === "timeout"
            ? `queues still not drained after ${ms(TIMEOUT_MS)}: ${[...drained.left].join(", ")}`
            : "interrupted; running attempts go back to their queues",
      });
      // Nothing should be left running on a clean finish; after a timeout or Ctrl-C, don't wait for it.
      await worker.stop({ graceMs: 0 });
    }
    await narrator.refresh();

    const solve = byRef.get(SOLVE_REF)!;
    const chain = await rw.chain(solve.id);
    const flaky = await rw.get(byRef.get(FLAKY_REF)!.id);
    const attemptsOf = new Map<string, Attempt[]>();
    for (const j of [...chain, ...(flaky ? [flaky] : [])]) attemptsOf.set(j.id, await rw.attempts(j.id));
    const story: Story = {
      stats: await rw.stats(),
      chain,
      attemptsOf,
      flaky: flaky ?? undefined,
      cancelled: (await rw.get(doomed.id)) ?? undefined,
    };

    await narrator.close();
    view.stop();
    viewStarted = false;
    const lines = summarise(story, board, paint);
    if (ending !== "drained") lines.unshift("", paint.red(`Stopped early (${ending}): these are the counts so far.`));
    lines.push(
      "",
      `${paint.bold("Database")}  ${dbPath}`,
      paint.dim(`  every job, attempt and log line of this run; the next run starts it afresh (${ms(Date.now() - startedAt)} this time)`),
    );
    process.stdout.write(`${lines.join("\n")}\n`);
    return ending === "drained" ? 0 : ending === "interrupted" ? 130 : 1;
  } finally {
    clearTimeout(cancelTimer);
    clearInterval(refreshTimer);
    if (viewStarted) view.stop();
    await rw.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now, so the process ends on its own; should a stray handle keep
    // it alive, this says so instead of hanging.
    setTimeout(() => {
      process.stderr.write("runway demo: something kept the process alive after closing; exiting\n");
      process.exit(code);
    }, 3000).unref();
  },
  (err: unknown) => {
    if (process.stdout.isTTY) process.stdout.write(cursor.show);
    const message = isRunwayError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`runway demo failed: ${message}\n`);
    process.exitCode = 1;
  },
);
