import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { streamSSE } from "hono/streaming";
import { ConflictError, NotFoundError, RunwayError, ValidationError } from "../core/errors.js";
import { type Job, type JobStatus, WAITING_STATUSES } from "../core/job.js";
import { jobJson } from "../core/job-view.js";
import type { JobSpec } from "../core/spec.js";
import type { Target } from "../core/target.js";
import { shellLogPath } from "../executors/shell.js";
import type { MoveTarget, Runway } from "../runtime/runway.js";
import { cancelJob, targetClient } from "../runtime/target-lanes.js";
import { asset, contentTypeOf, scriptsAndStyles } from "./assets.js";
import { routes } from "./contracts.js";
import type { EventFeed } from "./event-feed.js";
import { createMetrics } from "./metrics.js";
import { SECURITY_HEADERS, loopbackHost, sameOrigin, tokenMatches, tokenOf } from "./security.js";
import { VOCABULARY_PATH, vocabularyModule } from "./vocabulary.js";

export interface AppOptions {
  runway: Runway;
  feed: EventFeed;
  /** RUNWAY_HOME: shell jobs' logs live there. */
  home: string;
  /** When set, every request but the health checks and the login page must carry it. */
  token: string | null;
  readOnly?: boolean;
  sshConfig?: string | null;
}

const STATUS: Record<RunwayError["code"], 400 | 404 | 409 | 502 | 503> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unreachable: 502,
  store_unavailable: 503,
};

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** A shell job's command given at the top level of a body becomes its payload, as `runway add` builds it. */
function specOf(body: Record<string, unknown>): JobSpec {
  const { command, shell, cwd, env, ...rest } = body;
  if (command === undefined && shell === undefined) {
    if (cwd !== undefined || env !== undefined) throw new ValidationError("job", "cwd and env belong to shell jobs: give command or shell too");
    if (rest.kind === undefined) throw new ValidationError("job.kind", "give a kind (with a payload), or a command or shell line");
    return rest as unknown as JobSpec;
  }
  if (command !== undefined && shell !== undefined) throw new ValidationError("job", "give command (an argv array) or shell (a command line), not both");
  if (rest.kind !== undefined && rest.kind !== "shell") throw new ValidationError("job.kind", "a job with a command is a shell job; leave kind out");
  return {
    ...(rest as object),
    kind: "shell",
    payload: { command: command ?? null, shell: shell ?? null, cwd: typeof cwd === "string" ? cwd : process.cwd(), env: env ?? null },
  } as JobSpec;
}

export function createApp(o: AppOptions) {
  const rw = o.runway;
  // One client per target, so log requests share one SSH connection instead of opening their own.
  const clients = new Map<string, { key: string; client: ReturnType<typeof targetClient> }>();
  const clientFor = (t: Target) => {
    const key = JSON.stringify([t.host, t.port, t.identity, t.dir]);
    let e = clients.get(t.name);
    if (!e || e.key !== key) clients.set(t.name, (e = { key, client: targetClient(t, { home: o.home, ...(o.sshConfig !== undefined ? { sshConfig: o.sshConfig } : {}) }) }));
    return e.client;
  };
  const metrics = createMetrics(rw, o.feed);
  const app = new OpenAPIHono({
    // Bad input names the field, in the same words the CLI uses.
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0]!;
        const field = issue.path.map(String).join(".") || "request";
        return c.json(errorBody("invalid_input", `${field}: ${issue.message}`), 400);
      }
    },
  });

  app.onError((err, c) => {
    if (err instanceof RunwayError) return c.json(errorBody(err.code, err.message), STATUS[err.code]);
    if (err instanceof HTTPException && err.status === 400) return c.json(errorBody("invalid_input", "the body is not valid JSON"), 400);
    if (err instanceof SyntaxError) return c.json(errorBody("invalid_input", "the body is not valid JSON"), 400);
    // Never a stack trace to the client; the operator sees it.
    process.stderr.write(`runway serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
    return c.json(errorBody("internal", "internal error; the server's log has the details"), 500);
  });
  app.notFound((c) => c.json(errorBody("not_found", `no such endpoint: ${c.req.method} ${c.req.path}`), 404));

  app.use("*", async (c, next) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    const path = c.req.path;
    const open = path === "/healthz" || path === "/readyz" || path === "/login" || path === "/app.css" || path === "/favicon.ico";
    const changes = c.req.method !== "GET" && c.req.method !== "HEAD";
    // Without a token, only loopback names: a page whose DNS name was re-pointed at 127.0.0.1 is refused.
    if (o.token === null && !loopbackHost(c.req.header("host"))) {
      return c.json(errorBody("forbidden", `unknown Host ${JSON.stringify(c.req.header("host") ?? "")}: without a token only 127.0.0.1, localhost and [::1] are served; use --token to serve other names`), 403);
    }
    if (changes && !sameOrigin({ "sec-fetch-site": c.req.header("sec-fetch-site"), origin: c.req.header("origin"), host: c.req.header("host") })) {
      return c.json(errorBody("forbidden", "cross-site request refused: state changes must come from this server's own pages"), 403);
    }
    if (o.token !== null && !open && !tokenMatches(tokenOf({ authorization: c.req.header("authorization"), cookie: c.req.header("cookie") }), o.token)) {
      if (c.req.method === "GET" && (path === "/" || !path.startsWith("/api/") && path !== "/metrics")) return c.redirect("/login");
      return c.json(errorBody("unauthorized", "a token is needed: send Authorization: Bearer <token> (runway serve printed where it is kept)"), 401);
    }
    if (changes && o.readOnly && path !== "/login") return c.json(errorBody("read_only", "this server is read-only (runway serve --read-only)"), 403);
    await next();
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    try {
      await rw.queues();
      return c.json({ ok: true, store: rw.location });
    } catch (err) {
      return c.json({ ok: false, error: (err as Error).message }, 503);
    }
  });
  app.get("/metrics", async (c) => c.text(await metrics.metrics(), 200, { "Content-Type": metrics.contentType }));

  // Browsers ask for it on every page; the pages carry their own icon.
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/login", (c) => c.html(asset("login.html")));
  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const given = typeof form.token === "string" ? form.token.trim() : "";
    if (o.token === null || !tokenMatches(given, o.token)) return c.html(asset("login.html").replace("<!--error-->", '<p class="error">That token is not the right one.</p>'), 401);
    c.header("Set-Cookie", `runway_token=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`);
    return c.redirect("/");
  });
  const files = new Map([["/", "index.html"], ...scriptsAndStyles()]);
  for (const [path, file] of files) {
    app.get(path, (c) => c.body(asset(file), 200, { "Content-Type": contentTypeOf(file), "Cache-Control": "no-cache" }));
  }
  const vocabulary = vocabularyModule();
  app.get(VOCABULARY_PATH, (c) => c.body(vocabulary, 200, { "Content-Type": contentTypeOf(VOCABULARY_PATH), "Cache-Control": "no-cache" }));

  app.openapi(routes.listJobs, async (c) => {
    const q = c.req.valid("query");
    const limit = q.limit ?? 50;
    const jobs = await rw.list({
      ...(q.queue ? { queue: q.queue } : {}),
      ...(q.status ? { status: q.status.split(",").map((s) => s.trim()).filter(Boolean) as JobStatus[] } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.search ? { search: q.search } : {}),
      ...(q.after ? { after: q.after } : {}),
      order: q.order ?? "queue",
      limit: limit + 1,
    });
    const page = jobs.slice(0, limit);
    return c.json({ jobs: page.map((j) => jobJson(j)), next: jobs.length > limit ? page[page.length - 1]!.id : null }, 200);
  });

  app.openapi(routes.addJobs, async (c) => {
    const body = c.req.valid("json") as Record<string, unknown>;
    const list = Array.isArray(body.jobs) ? (body.jobs as Record<string, unknown>[]) : [body];
    const jobs = await rw.addMany(list.map(specOf));
    return c.json({ jobs: jobs.map((j) => jobJson(j)) }, 201);
  });

  app.openapi(routes.getJob, async (c) => {
    const { id } = c.req.valid("param");
    const job = await mustJob(rw, id);
    const [attempts, chain, deps] = await Promise.all([rw.attempts(id), rw.chain(id), Promise.all(job.dependsOn.map((d) => rw.get(d)))]);
    return c.json(
      {
        job: jobJson(job),
        attempts,
        dependencies: deps.filter((d): d is Job => d !== null).map((d) => ({ id: d.id, status: d.status, name: d.name })),
        chain: chain.map((j) => ({ id: j.id, status: j.status, kind: j.kind, queue: j.queue })),
      },
      200,
    );
  });

  app.openapi(routes.jobLog, async (c) => {
    const { id } = c.req.valid("param");
    const { offset = 0, attempt } = c.req.valid("query");
    const job = await mustJob(rw, id);
    const n = attempt ?? Math.max(1, job.attempt);
    const running = job.status === "running" && n === job.attempt;
    if (job.target && job.remote && job.remote.attempt === n) {
      const t = await rw.getTarget(job.target);
      if (t) {
        try {
          const r = await clientFor(t).tail(job.remote.runId, offset, 256 * 1024);
          return c.json({ offset: offset + r.bytes.length, size: r.size, text: r.bytes.toString("utf8"), running }, 200);
        } catch {
          // Unreachable: the copy kept here, below.
        }
      }
    }
    const path = shellLogPath(o.home, id, n);
    if (!existsSync(path)) return c.json({ offset, size: 0, text: "", running }, 200);
    const size = statSync(path).size;
    const from = Math.min(offset, size);
    const buf = Buffer.alloc(Math.min(size - from, 256 * 1024));
    const fd = openSync(path, "r");
    try {
      readSync(fd, buf, 0, buf.length, from);
    } finally {
      closeSync(fd);
    }
    return c.json({ offset: from + buf.length, size, text: buf.toString("utf8"), running }, 200);
  });

  app.openapi(routes.moveJob, async (c) => {
    const { id } = c.req.valid("param");
    const { to } = c.req.valid("json");
    const job = await mustJob(rw, id);
    let target: MoveTarget;
    if (to === "up" || to === "down") {
      const neighbour = await neighbourOf(rw, job, to);
      if (!neighbour) return c.json({ job: jobJson(job) }, 200);
      target = to === "up" ? { before: neighbour.id } : { after: neighbour.id };
    } else target = to;
    return c.json({ job: jobJson(await rw.move(id, target)) }, 200);
  });

  app.openapi(routes.jobAction, async (c) => {
    const { id, action } = c.req.valid("param");
    await mustJob(rw, id);
    if (action === "cancel") {
      const { job, remote } = await cancelJob(rw, id, { home: o.home, ...(o.sshConfig !== undefined ? { sshConfig: o.sshConfig } : {}) });
      // The answer does not wait for the server's grace period; a failure there is the operator's to see.
      void remote.catch((err: Error) => process.stderr.write(`runway serve: ${id} is cancelled, but stopping it on ${job.target} failed: ${err.message}\n`));
      return c.json({ job: jobJson(job) }, 200);
    }
    const job = action === "skip" ? await rw.skip(id) : await rw.requeue(id);
    return c.json({ job: jobJson(job) }, 200);
  });

  app.openapi(routes.listQueues, async (c) => c.json({ queues: (await rw.stats()).map((q) => ({ ...q })) }, 200));

  app.openapi(routes.queueAction, async (c) => {
    const { name, action } = c.req.valid("param");
    if (!(await rw.getQueue(name))) throw new NotFoundError("queue", name);
    const q = action === "pause" ? await rw.pause(name) : action === "stop" ? await rw.stop(name) : await rw.resume(name);
    return c.json({ queue: q }, 200);
  });

  app.openapi(routes.setQueue, async (c) => {
    const { name } = c.req.valid("param");
    const { concurrency } = c.req.valid("json");
    return c.json({ queue: await rw.queue(name, { concurrency }) }, 200);
  });

  app.openapi(routes.listTargets, async (c) => {
    const [targets, counts] = await Promise.all([rw.targets(), rw.targetCounts()]);
    return c.json({ targets: targets.map((t) => ({ ...t, counts: counts[t.name] ?? {} })) }, 200);
  });

  app.openapi(routes.listCrons, async (c) => c.json({ crons: (await rw.crons()).map((s) => ({ ...s })) }, 200));

  app.openapi(routes.stats, async (c) => {
    const now = Date.now();
    const [queues, timeline] = await Promise.all([rw.stats(), rw.timeline({ since: now - 3_600_000, bucketMs: 60_000 })]);
    return c.json({ queues: queues.map((q) => ({ ...q })), timeline, workers: o.feed.workers }, 200);
  });

  app.get("/api/events", (c) => streamSSE(c, async (stream) => sse(c, stream, o.feed)));

  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: { title: "runway", version: "1", description: "The HTTP API of runway: jobs, queues, targets, cron schedules and stats; events at /api/events (server-sent events)." },
  });
  return app;
}

async function mustJob(rw: Runway, id: string): Promise<Job> {
  const job = await rw.get(id);
  if (!job) throw new NotFoundError("job", id);
  return job;
}

/** The waiting job just before or after this one in its queue's order. */
async function neighbourOf(rw: Runway, job: Job, dir: "up" | "down"): Promise<Job | null> {
  if (!WAITING_STATUSES.includes(job.status)) throw new ConflictError(`job ${job.id} is ${job.status}; only waiting jobs can be moved`);
  const waiting = [...WAITING_STATUSES];
  if (dir === "down") return (await rw.list({ queue: job.queue, status: waiting, after: job.id, limit: 1 }))[0] ?? null;
  let previous: Job | null = null;
  let after: string | undefined;
  // Walks the queue's order a page at a time up to the job; moving up is a click, not a hot path.
  for (;;) {
    const page = await rw.list({ queue: job.queue, status: waiting, limit: 1000, ...(after ? { after } : {}) });
    for (const j of page) {
      if (j.id === job.id) return previous;
      previous = j;
    }
    if (page.length < 1000) return previous;
    after = page[page.length - 1]!.id;
  }
}

async function sse(c: Context, stream: Parameters<Parameters<typeof streamSSE>[1]>[0], feed: EventFeed): Promise<void> {
  let id = 0;
  const queue: { type: string; data: string }[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = feed.subscribe(
    (e) => {
      queue.push({ type: e.type, data: JSON.stringify(e) });
      // A client that does not read is not allowed to grow memory without end.
      if (queue.length > 10_000) queue.splice(0, queue.length - 10_000);
      wake?.();
    },
    { logs: true },
  );
  stream.onAbort(() => {
    unsubscribe();
    wake?.();
  });
  await stream.writeSSE({ event: "hello", data: JSON.stringify({ at: Date.now() }), id: String(id++) });
  while (!stream.aborted && !c.req.raw.signal.aborted) {
    if (queue.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, 15_000);
      });
      clearTimeout(timer);
      wake = null;
      // A comment now and then keeps proxies from closing an idle stream.
      if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
      continue;
    }
    for (const e of queue.splice(0)) await stream.writeSSE({ event: e.type, data: e.data, id: String(id++) });
  }
  unsubscribe();
}
