import { setTimeout as sleep } from "node:timers/promises";
import type { Handlers, JobContext, JobSpec } from "../../src/index.js";

export const RESEARCH = "research";
export const PUBLISH = "publish";

/** The ref of the job the demo cancels while it is still waiting in its queue. */
export const CANCEL_REF = "archive";
export const CANCEL_AFTER_MS = 1500;
/** Refs the final summary tells the story of. */
export const SOLVE_REF = "solve";
export const FLAKY_REF = "mirror";

/** Every handler paces itself by these, so the whole run lasts about a quarter of a minute. */
const PAGE_MS = 550;
const STEP_MS = 470;

export type FetchPayload = { source: string; pages: number; failFirst?: number };
export type TaskPayload = { task: string; test: string };
export type StepsPayload = { steps: string[] };

export type DemoJobs = {
  fetch: FetchPayload;
  build: StepsPayload;
  test: StepsPayload;
  aider: TaskPayload;
  codex: TaskPayload;
  publish: StepsPayload;
};

const retries = { strategy: "exponential", base: 300, cap: 5000 };

/**
 * Added in one batch, lowest priority first, so the order they run in can only come from their
 * priorities. Refs let the batch depend on jobs it is adding itself.
 */
export function pipeline(): JobSpec[] {
  const fetch = (
    ref: string,
    priority: NonNullable<JobSpec["priority"]>,
    name: string,
    source: string,
    pages: number,
    flaky?: { failFirst: number; maxAttempts: number },
  ): JobSpec => ({
    ref,
    kind: "fetch",
    queue: RESEARCH,
    priority,
    name,
    payload: { source, pages, ...(flaky ? { failFirst: flaky.failFirst } : {}) } satisfies FetchPayload,
    ...(flaky ? { maxAttempts: flaky.maxAttempts, backoff: retries } : {}),
  });
  return [
    fetch("forum", "low", "fetch forum threads", "https://forum.example.org/c/queues", 3),
    fetch(CANCEL_REF, "low", "fetch old archive", "https://archive.example.org/2019", 4),
    fetch("docs", "normal", "fetch api docs", "https://docs.example.org/api", 3),
    // Drops the connection on its first two attempts: two retries, 300 ms then 600 ms apart.
    fetch(FLAKY_REF, "normal", "fetch mirror", "https://mirror.example.net/dump", 3, { failFirst: 2, maxAttempts: 4 }),
    fetch("issues", "high", "fetch issue tracker", "https://issues.example.org/search?q=flaky", 3),
    fetch("incident", "critical", "fetch incident log", "https://status.example.org/incidents/42", 2),
    {
      ref: "index",
      kind: "build",
      queue: RESEARCH,
      priority: "high",
      name: "build search index",
      dependsOn: ["incident", "issues"],
      payload: { steps: ["merging sources", "tokenising", "writing index"] },
    },
    {
      ref: "archive-index",
      kind: "build",
      queue: RESEARCH,
      priority: "low",
      name: "index old archive",
      dependsOn: [CANCEL_REF],
      payload: { steps: ["merging archive", "writing index"] },
    },
    // Always fails as aider; the escalation rule hands it to codex after two failed attempts,
    // before its third attempt would have been used.
    {
      ref: SOLVE_REF,
      kind: "aider",
      queue: RESEARCH,
      priority: "high",
      name: "fix flaky test",
      maxAttempts: 3,
      backoff: retries,
      payload: { task: "make test/retry.spec.ts pass reliably", test: "test/retry.spec.ts" },
    },
    {
      ref: "verify",
      kind: "test",
      queue: RESEARCH,
      priority: "normal",
      name: "run test suite",
      dependsOn: [SOLVE_REF],
      payload: { steps: ["installing", "running 148 tests"] },
    },
    {
      ref: "digest",
      kind: "publish",
      queue: PUBLISH,
      priority: "low",
      name: "send nightly digest",
      delay: "3s",
      payload: { steps: ["rendering", "sending"] },
    },
    {
      ref: "report",
      kind: "publish",
      queue: PUBLISH,
      priority: "normal",
      name: "publish report",
      dependsOn: ["index", "verify", "docs", FLAKY_REF],
      payload: { steps: ["rendering report", "uploading", "announcing"] },
    },
  ];
}

async function walk(ctx: JobContext, steps: readonly string[], ms: number): Promise<void> {
  for (const [i, note] of steps.entries()) {
    await ctx.progress({ step: i + 1, of: steps.length, note });
    await sleep(ms, undefined, { signal: ctx.signal });
  }
}

/** Made-up but stable numbers, so two runs print the same results. */
function recordsOf(source: string, pages: number): number {
  let h = 0;
  for (const c of source) h = (h * 31 + c.charCodeAt(0)) % 997;
  return pages * 100 + h;
}

export const handlers: Handlers<DemoJobs> = {
  fetch: async (job, ctx) => {
    const { source, pages, failFirst = 0 } = job.payload;
    ctx.log(`GET ${source}`);
    for (let page = 1; page <= pages; page++) {
      await ctx.progress({ step: page, of: pages, note: `page ${page} of ${pages}` });
      await sleep(PAGE_MS, undefined, { signal: ctx.signal });
      if (page === 2 && ctx.attempt <= failFirst) throw new Error(`${new URL(source).host}: connection reset by peer`);
    }
    const records = recordsOf(source, pages);
    ctx.log(`${records} records`);
    return { records };
  },
  build: async (job, ctx) => {
    await walk(ctx, job.payload.steps, STEP_MS);
    return { ok: true };
  },
  test: async (job, ctx) => {
    await walk(ctx, job.payload.steps, STEP_MS);
    ctx.log("148 passed, 0 failed");
    return { passed: 148, failed: 0 };
  },
  aider: async (job, ctx) => {
    ctx.log(`aider: ${job.payload.task}`);
    await walk(ctx, ["reading the test", "editing src/retry.ts", `running ${job.payload.test}`], STEP_MS);
    throw new Error(`${job.payload.test} still fails (2 of 148 red)`);
  },
  codex: async (job, ctx) => {
    ctx.log(`codex: ${job.payload.task}${job.escalatedFrom ? " (escalated)" : ""}`);
    await walk(ctx, ["reproducing the flake", "fixing a race in src/retry.ts", `running ${job.payload.test}`], STEP_MS);
    return { patch: "src/retry.ts +6 -2", tests: "148/148" };
  },
  publish: async (job, ctx) => {
    await walk(ctx, job.payload.steps, STEP_MS);
    return { url: "https://reports.example.org/latest" };
  },
};
