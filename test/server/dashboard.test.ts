/**
 * The dashboard in a real browser: chromium against the real server on a real SQLite file, with
 * a real worker running shell jobs in this process. Every scenario watches the page change by
 * itself (the event stream), never by reloading it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ACTIVE_STATUSES, DOOMED_STATUSES, FINISHED_STATUSES, JOB_STATUSES, QUEUE_STATES, WAITING_STATUSES } from "../../src/core/job.js";
import { PRIORITIES } from "../../src/core/priority.js";
import { shellHandler } from "../../src/executors/shell.js";
import { type Runway, open } from "../../src/runtime/runway.js";
import type { Worker } from "../../src/runtime/worker.js";
import { type RunningServer, startServer } from "../../src/server/serve.js";
import { VOCABULARY } from "../../src/server/vocabulary.js";
import { launchBrowser } from "../helpers/browser.js";
import { tempDir } from "../helpers/tmp.js";

const ROOT = join(import.meta.dirname, "../..");
const ARTIFACTS = join(ROOT, "test-artifacts");
/** The README's picture is rewritten only on request: every run would otherwise change a tracked file. */
const DOCS_SHOT = join(ROOT, "docs/dashboard.png");
const UPDATE_DOCS = process.env.RUNWAY_UPDATE_SCREENSHOTS === "1" || !existsSync(DOCS_SHOT);

/** A store, its server and the RUNWAY_HOME the shell jobs log into. */
interface Stack {
  tmp: ReturnType<typeof tempDir>;
  home: string;
  db: string;
  rw: Runway;
  server: RunningServer;
}

async function makeStack(): Promise<Stack> {
  const tmp = tempDir("runway-dashboard-");
  const home = join(tmp.dir, "home");
  mkdirSync(home);
  const db = join(tmp.dir, "runway.db");
  const rw = open({ db });
  rw.on("warning", () => {});
  const server = await startServer({ runway: rw, home, host: "127.0.0.1", port: 0 });
  return { tmp, home, db, rw, server };
}

async function closeStack(st: Stack | undefined): Promise<void> {
  if (!st) return;
  await st.server.close();
  await st.rw.close();
  st.tmp.cleanup();
}

let main: Stack;
let rw: Runway;
let browser: Browser;
const workers: Worker[] = [];

interface Session {
  page: Page;
  context: BrowserContext;
  origin: string;
  /** Every URL the page asked for. */
  requests: string[];
  /** Console errors (CSP violations land there), uncaught exceptions and failed requests. */
  problems: string[];
}
const sessions: Session[] = [];

// Installing chromium on first use takes longer than a test may.
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  main = await makeStack();
  rw = main.rw;
  browser = await launchBrowser();
}, 600_000);

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.context.close();
  for (const w of workers.splice(0)) await w.stop({ graceMs: 500 });
});

afterAll(async () => {
  await browser?.close();
  await closeStack(main);
});

function startWorker(queue: string, st: Stack = main): Worker {
  const w = st.rw.worker({ handlers: { shell: shellHandler({ home: st.home, killGraceMs: 1000 }) }, queues: [queue], concurrency: 1 });
  workers.push(w);
  return w;
}

/** Adds a shell job through the HTTP API, as a script would. */
async function addShell(queue: string, shell: string, extra: Record<string, unknown> = {}, st: Stack = main): Promise<string> {
  const res = await fetch(`${st.server.url}/api/jobs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ shell, queue, cwd: st.tmp.dir, ...extra }),
  });
  const body = (await res.json()) as { jobs: { id: string }[] };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.jobs[0]!.id;
}

interface OpenOptions {
  viewport?: { width: number; height: number };
  stack?: Stack;
  /** Hold the event stream back: the page then knows only what it fetched itself. */
  noEvents?: boolean;
}

async function openDashboard(path = "/", o: OpenOptions = {}): Promise<Session> {
  const st = o.stack ?? main;
  const context = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  const s: Session = { page, context, origin: new URL(st.server.url).origin, requests: [], problems: [] };
  sessions.push(s);
  page.setDefaultTimeout(15_000);
  page.on("request", (r) => s.requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") s.problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => s.problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // The event stream is cut when the page goes; that is no fault of the page.
    if (!r.url().endsWith("/api/events")) s.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  if (o.noEvents) await page.route("**/api/events", (route) => route.abort());
  await page.goto(`${st.server.url}${path}`);
  if (!o.noEvents) await page.locator('[data-testid="live-status"][data-live="true"]').waitFor();
  return s;
}

/** Nothing came from anywhere but the server, and nothing went wrong in the page. */
function expectClean(s: Session, allowed: RegExp[] = []): void {
  const outside = s.requests.filter((u) => !u.startsWith(`${s.origin}/`) && !u.startsWith("data:"));
  expect(outside).toEqual([]);
  expect(s.requests.some((u) => u.startsWith(`${s.origin}/app.js`))).toBe(true);
  expect(s.problems.filter((p) => !allowed.some((re) => re.test(p)))).toEqual([]);
}

const rowIds = (page: Page) => page.locator('[data-testid="jobs-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")));

const jobRow = (page: Page, id: string, status?: string) =>
  page.locator(`[data-testid="job-row-${id}"]${status ? `[data-status="${status}"]` : ""}`);
const queueRow = (page: Page, queue: string, state?: string) =>
  page.locator(`[data-testid="queue-row-${queue}"]${state ? `[data-state="${state}"]` : ""}`);

async function storeStatus(id: string): Promise<string> {
  return (await rw.get(id))!.status;
}

/** Waits for the store to say so: the page is then given only LIVE_MS to follow. */
async function untilStore(id: string, status: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await storeStatus(id)) !== status) {
    if (Date.now() > deadline) throw new Error(`job ${id} is ${await storeStatus(id)} in the store, not ${status}`);
    await sleep(50);
  }
}

/**
 * How long the page may lag the store: events come within about a second. The page's own safety
 * refresh every 10 s would not meet it, so passing needs the event stream.
 */
const LIVE_MS = 4_000;

describe("dashboard", () => {
  it("serves a page that loads only from this server and runs under its CSP without errors", async () => {
    const res = await fetch(`${main.server.url}/`);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    // Inline scripts, handlers and styles would be refused by the CSP: none are written.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    const s = await openDashboard();
    await s.page.locator('[data-testid="queues-table"]:visible, #queues .empty:visible').first().waitFor();
    await s.page.locator('[data-testid="throughput-chart"] svg').waitFor();
    expect(await s.page.title()).toBe("runway");
    // The entry's imports: the shared library and the views, each a module of its own.
    for (const module of ["/lib/api.js", "/lib/vocabulary.js", "/views/overview.js", "/views/job.js"]) expect(s.requests).toContain(`${s.origin}${module}`);
    expectClean(s);
  });

  it("gives the page core's statuses, queue states and priorities as a module the server makes", async () => {
    const res = await fetch(`${main.server.url}/lib/vocabulary.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const s = await openDashboard();
    // A string: the test is compiled without the DOM's types.
    const served = await s.page.evaluate<{ values: Record<string, unknown>; frozen: boolean }>(`import("/lib/vocabulary.js").then((m) => ({
      values: JSON.parse(JSON.stringify({ ...m })),
      frozen: Object.values(m).every((v) => Object.isFrozen(v)) && m.QUEUE_ACTIONS.every((a) => Object.isFrozen(a) && Object.isFrozen(a.from)),
    }))`);
    expect(served.values).toEqual(JSON.parse(JSON.stringify(VOCABULARY)));
    expect(served.values).toMatchObject({ JOB_STATUSES, ACTIVE_STATUSES, WAITING_STATUSES, FINISHED_STATUSES, DOOMED_STATUSES, QUEUE_STATES, PRIORITIES });
    expect(served.frozen).toBe(true);
    // The page's own files may name a status, but never list a set of them: sets come from core.
    const name = `"(?:${[...JOB_STATUSES, ...QUEUE_STATES, ...PRIORITIES].join("|")})"`;
    const list = new RegExp(`\\[\\s*${name}(?:\\s*,\\s*${name})+\\s*,?\\s*\\]`);
    const dir = join(ROOT, "src/server/static");
    const scripts = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
    expect(scripts).not.toContain("lib/vocabulary.js");
    for (const file of scripts) expect(readFileSync(join(dir, file), "utf8"), file).not.toMatch(list);
    expectClean(s);
  });

  it("shows a job go from queued to running to completed as a worker runs it, without a reload", async () => {
    const id = await addShell("watch", "echo start; sleep 3; echo done", { name: "watched" });
    const s = await openDashboard();
    const { page } = s;
    await jobRow(page, id, "queued").waitFor();
    await queueRow(page, "watch").locator('[data-count="queued"][data-n="1"]').waitFor();
    // A reload would start a new document and lose this mark.
    await page.evaluate("window.sameDocument = true");
    // The page's first fetches settle: from here on only events can bring news.
    await sleep(600);

    startWorker("watch");
    await untilStore(id, "running");
    await jobRow(page, id, "running").waitFor({ timeout: LIVE_MS });
    await queueRow(page, "watch").locator('[data-count="running"][data-n="1"]').waitFor({ timeout: LIVE_MS });
    await untilStore(id, "completed");
    await jobRow(page, id, "completed").waitFor({ timeout: LIVE_MS });
    await queueRow(page, "watch").locator('[data-count="completed"][data-n="1"]').waitFor({ timeout: LIVE_MS });
    await queueRow(page, "watch").locator('[data-count="queued"][data-n="0"]').waitFor();
    expect(await jobRow(page, id).locator("a.job-link").textContent()).toBe("watched");
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    expectClean(s);
  });

  it("pauses a queue from the page: the queued job stays queued, then runs once resumed", async () => {
    await rw.queue("hold");
    startWorker("hold");
    const s = await openDashboard();
    const { page } = s;
    await queueRow(page, "hold", "running").locator('[data-action="pause"]').click();
    await queueRow(page, "hold", "paused").waitFor();
    expect((await rw.store.queueGet({ queue: "hold" }))!.state).toBe("paused");

    const id = await addShell("hold", "echo resumed", { name: "held" });
    await jobRow(page, id, "queued").waitFor({ timeout: LIVE_MS });
    // A running queue would have started it well within this time (the worker wakes at once).
    await sleep(2500);
    expect(await jobRow(page, id).getAttribute("data-status")).toBe("queued");
    expect(await storeStatus(id)).toBe("queued");
    expect((await rw.attempts(id)).length).toBe(0);

    await queueRow(page, "hold", "paused").locator('[data-action="resume"]').click();
    await queueRow(page, "hold", "running").waitFor();
    await untilStore(id, "completed");
    await jobRow(page, id, "completed").waitFor({ timeout: LIVE_MS });
    expectClean(s);
  });

  it("cancels a running job from the page and shows it cancelled", async () => {
    const id = await addShell("cancel", "echo started; sleep 30", { name: "long" });
    startWorker("cancel");
    const s = await openDashboard();
    const { page } = s;
    await jobRow(page, id, "running").waitFor();
    await jobRow(page, id, "running").locator('[data-action="cancel"]').click();
    await untilStore(id, "cancelled");
    await jobRow(page, id, "cancelled").waitFor({ timeout: LIVE_MS });
    // Its only attempt ended by the cancel, well before the 30 s sleep.
    const attempts = await rw.attempts(id);
    expect(attempts.map((a) => a.outcome)).toEqual(["cancelled"]);
    expect(attempts[0]!.finishedAt - attempts[0]!.startedAt).toBeLessThan(15_000);
    await jobRow(page, id, "cancelled").locator('[data-action="retry"]').waitFor();
    expectClean(s);
  });

  it("opens a job's page and tails its log while it runs", async () => {
    const script = "for i in 1 2 3 4 5 6 7 8; do echo line-$i; sleep 0.5; done";
    const id = await addShell("logs", script, { name: "chatty" });
    const s = await openDashboard();
    const { page } = s;
    await jobRow(page, id, "queued").locator("a.job-link").click();
    await page.locator(`[data-testid="job-view"][data-job="${id}"]`).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/jobs/${id}`);
    expect(await page.getByTestId("job-command").textContent()).toBe(script);
    await page.locator('[data-testid="job-status"][data-status="queued"]').waitFor();

    startWorker("logs");
    const log = page.getByTestId("job-log");
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain("line-2");
    // Read while it runs: the first lines are there and the last is still to come.
    const early = (await log.textContent()) ?? "";
    expect(await page.getByTestId("job-status").getAttribute("data-status")).toBe("running");
    expect(early).not.toContain("line-8");
    expect(await storeStatus(id)).toBe("running");

    await page.locator('[data-testid="job-status"][data-status="completed"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => log.textContent(), { timeout: 5_000 }).toContain("line-8");
    // Every line once, in order: the event stream and the offset polls never double a line.
    expect(((await log.textContent()) ?? "").trim().split("\n")).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `line-${i}`));
    const attempt = page.getByTestId("attempt-row-1");
    expect(await attempt.getAttribute("data-outcome")).toBe("completed");
    expect(await attempt.locator("td").nth(2).textContent()).toBe("0");
    await page.screenshot({ path: join(ARTIFACTS, "job.png") });

    // The back link returns to the overview, where the job is listed as completed.
    await page.locator("a.back").click();
    await jobRow(page, id, "completed").waitFor();
    expectClean(s);
  });

  it("filters by queue, status and name, pages with more, and moves a waiting job", async () => {
    await rw.queue("order");
    await rw.pause("order");
    const [a, b, c] = [await addShell("order", "echo a", { name: "alpha" }), await addShell("order", "echo b", { name: "bravo" }), await addShell("order", "echo c", { name: "charlie" })];
    await rw.cancel(b);
    for (let i = 1; i <= 60; i++) await addShell("many", `echo ${i}`, { name: `many ${i}` });
    const s = await openDashboard();
    const { page } = s;

    await page.getByTestId("filter-queue").selectOption("order");
    await page.getByTestId("filter-order").selectOption("queue");
    await expect.poll(() => rowIds(page)).toEqual([a, b, c]);
    expect(new URL(page.url()).hash).toBe("#/?queue=order&order=queue");

    await page.getByTestId("filter-status-queued").check();
    await expect.poll(() => rowIds(page)).toEqual([a, c]);
    await jobRow(page, c).locator('[data-action="up"]').click();
    await expect.poll(() => rowIds(page)).toEqual([c, a]);
    expect((await rw.list({ queue: "order", status: ["queued"] })).map((j) => j.id)).toEqual([c, a]);

    await page.getByTestId("filter-status-queued").uncheck();
    await page.getByTestId("filter-search").fill("alph");
    await expect.poll(() => rowIds(page)).toEqual([a]);

    await jobRow(page, b).waitFor({ state: "detached" });
    await page.getByTestId("filter-clear").click();
    await page.getByTestId("filter-order").selectOption("recent");
    await page.getByTestId("filter-queue").selectOption("many");
    await expect.poll(() => rowIds(page).then((ids) => ids.length)).toBe(50);
    await page.getByTestId("jobs-more").click();
    await expect.poll(() => rowIds(page).then((ids) => ids.length)).toBe(60);
    await page.getByTestId("jobs-more").waitFor({ state: "hidden" });
    // Newest first: the first added is the last row.
    const ids = await rowIds(page);
    expect(await jobRow(page, ids[59]!).locator("a.job-link").textContent()).toBe("many 1");
    expectClean(s);
  });

  it("shows the server's message when an action is refused", async () => {
    await rw.queue("refuse");
    await rw.pause("refuse");
    const id = await addShell("refuse", "echo x", { name: "refused" });
    // Without the event stream the row stays as first fetched, so its cancel button goes stale.
    const s = await openDashboard("/", { noEvents: true });
    const { page } = s;
    await jobRow(page, id, "queued").waitFor();
    await rw.skip(id);
    await jobRow(page, id, "queued").locator('[data-action="cancel"]').click();
    const toast = page.locator('[data-testid="toast"][data-kind="error"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain(`job ${id} is skipped; only queued, scheduled, blocked or running jobs can be cancelled`);
    // The page fetched the row again after the refusal.
    await jobRow(page, id, "skipped").waitFor();
    expect(await page.getByTestId("live-status").getAttribute("data-live")).toBe("false");
    // The refusal itself, and the held-back stream (its console line names no URL).
    expectClean(s, [/status of 409/, /net::ERR_FAILED/]);
  });

  it("draws the last hour, lists jobs in every state, and fits a phone screen (screenshots)", async () => {
    // A store of its own, so the picture shows a plausible set of queues rather than the other tests'.
    const st = await makeStack();
    try {
      await st.rw.queue("build", { concurrency: 2 });
      await st.rw.queue("reports");
      const finished: string[] = [];
      for (let i = 1; i <= 50; i++) finished.push(await addShell("build", `echo case ${i}`, { name: `benchmark case ${i}` }, st));
      for (const [name, line] of [
        ["compile", "echo compiling"],
        ["unit tests", "echo 412 passed"],
        ["lint", "echo clean"],
        ["integration tests", "echo 'FAIL api.spec.ts' >&2; exit 3"],
        ["package", "echo ok"],
      ] as const) {
        finished.push(await addShell("build", line, { name }, st));
      }
      startWorker("build", st);
      const deadline = Date.now() + 30_000;
      while ((await st.rw.list({ queue: "build", status: ["queued", "running"] })).length > 0 && Date.now() < deadline) await sleep(100);

      // An hour of history in a test that lasts seconds: the finished jobs are spread over the hour.
      const sql = new Database(st.db);
      sql.pragma("busy_timeout = 5000");
      const shift = sql.prepare("UPDATE jobs SET started_at = ?, finished_at = ? WHERE id = ? AND finished_at IS NOT NULL");
      const now = Date.now();
      finished.forEach((id, i) => {
        // Scattered but fixed: some minutes busy, some idle.
        const end = now - 60_000 * (2 + 3 * Math.floor((((i * 7919) % 97) / 97) * 19)) - 1000 * (i % 40);
        shift.run(end - 800 - ((i * 7919) % 9000), end, id);
      });
      sql.close();

      const solving = await addShell("build", "echo solving; sleep 30", { name: "solve instance 7", priority: "high" }, st);
      await addShell("build", "make report", { name: "weekly report", delay: "10m" }, st);
      await addShell("build", "./publish.sh", { name: "publish", dependsOn: [solving] }, st);
      const cancelled = await addShell("reports", "echo never", { name: "obsolete export" }, st);
      await st.rw.cancel(cancelled);
      const waiting = await addShell("reports", "./summary.sh --week", { name: "summary" }, st);
      await addShell("reports", "./digest.sh", { name: "digest", priority: "low" }, st);
      await st.rw.pause("reports");

      const s = await openDashboard("/", { stack: st, viewport: { width: 1280, height: 1000 } });
      const { page } = s;
      await jobRow(page, solving, "running").waitFor();
      await jobRow(page, waiting, "queued").waitFor();
      const chart = page.getByTestId("throughput-chart");
      await expect.poll(() => chart.locator(".bar-completed").count()).toBeGreaterThan(10);
      expect(await chart.locator(".bar-failed").count()).toBe(1);
      expect(await chart.locator(".mean-line").count()).toBe(1);
      expect(await page.locator('[data-testid="queue-row-reports"][data-state="paused"] [data-count="queued"]').getAttribute("data-n")).toBe("2");
      await sleep(300);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard.png") });
      if (UPDATE_DOCS) await page.screenshot({ path: DOCS_SHOT });

      // A phone: the page itself does not scroll sideways; wide tables scroll in their own box.
      await page.setViewportSize({ width: 390, height: 844 });
      await sleep(300);
      // A string: the test is compiled without the DOM's types.
      const widths = await page.evaluate<{ page: number; viewport: number; scroll: number; client: number; overflow: string }>(`(() => {
        const wrap = document.querySelector('[data-testid="jobs-table"]').parentElement;
        return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, scroll: wrap.scrollWidth, client: wrap.clientWidth, overflow: getComputedStyle(wrap).overflowX };
      })()`);
      expect(widths.page).toBeLessThanOrEqual(widths.viewport);
      expect(widths.overflow).toBe("auto");
      expect(widths.client).toBeLessThanOrEqual(widths.viewport);
      expect(widths.scroll).toBeGreaterThan(widths.client);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png") });
      expectClean(s);
      for (const w of workers.splice(0)) await w.stop({ graceMs: 500 });
    } finally {
      for (const x of sessions.splice(0)) await x.context.close();
      await closeStack(st);
    }
  });
});
