/**
 * The HTTP API against the real server on a free port, over HTTP: a real SQLite file, real
 * workers in the same process, server-sent events read off the wire.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shellHandler } from "../../src/executors/shell.js";
import { type Runway, open } from "../../src/runtime/runway.js";
import { type RunningServer, startServer } from "../../src/server/serve.js";
import { tokenMatches } from "../../src/server/security.js";
import { tempDir } from "../helpers/tmp.js";
import { until } from "../helpers/processes.js";

interface Ctx {
  rw: Runway;
  server: RunningServer;
  home: string;
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
}

const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of opened.splice(0).reverse()) await c();
});

async function setup(opts: { host?: string; token?: string | null; readOnly?: boolean } = {}): Promise<Ctx> {
  const t = tempDir("rw-api-");
  const home = join(t.dir, "home");
  const rw = open({ db: join(t.dir, "runway.db") });
  const server = await startServer({ runway: rw, home, host: opts.host ?? "127.0.0.1", port: 0, token: opts.token ?? null, readOnly: !!opts.readOnly });
  opened.push(async () => {
    await server.close();
    await rw.close();
    t.cleanup();
  });
  const base = server.url.replace("0.0.0.0", "127.0.0.1");
  return {
    rw,
    server,
    home,
    api: async (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.json !== undefined) headers.set("content-type", "application/json");
      const res = await fetch(`${base}${path}`, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body, redirect: "manual" });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: metrics, pages
      }
      return { status: res.status, body, headers: res.headers };
    },
  };
}


describe("the JSON API", () => {
  it("adds jobs (one, or many in one go), lists them with filters and pages, and shows one with its details", async () => {
    const { api } = await setup();
    const one = await api("/api/jobs", { method: "POST", json: { command: ["echo", "hi"], queue: "build", name: "greet" } });
    expect(one.status).toBe(201);
    expect(one.body.jobs[0]).toMatchObject({ queue: "build", kind: "shell", status: "queued", command: ["echo", "hi"], name: "greet" });
    const many = await api("/api/jobs", {
      method: "POST",
      json: { jobs: [{ kind: "email", payload: { to: "a@b.c" }, ref: "a" }, { kind: "email", dependsOn: ["a"], priority: "high" }, { shell: "make report", queue: "build" }] },
    });
    expect(many.status).toBe(201);
    expect(many.body.jobs.map((j: any) => j.status)).toEqual(["queued", "blocked", "queued"]);
    expect(many.body.jobs[1].dependsOn).toEqual([many.body.jobs[0].id]);

    const build = await api("/api/jobs?queue=build");
    expect(build.body.jobs.map((j: any) => j.name ?? j.shell)).toEqual(["greet", "make report"]);
    const blocked = await api("/api/jobs?status=blocked");
    expect(blocked.body.jobs).toHaveLength(1);
    const found = await api("/api/jobs?search=REPORT");
    expect(found.body.jobs.map((j: any) => j.shell)).toEqual(["make report"]);
    const page1 = await api("/api/jobs?limit=2&order=added");
    expect(page1.body.jobs).toHaveLength(2);
    const page2 = await api(`/api/jobs?limit=2&order=added&after=${page1.body.next}`);
    expect(page2.body.jobs).toHaveLength(2);
    expect(page2.body.next).toBeNull();
    expect(new Set([...page1.body.jobs, ...page2.body.jobs].map((j: any) => j.id)).size).toBe(4);

    const shown = await api(`/api/jobs/${many.body.jobs[1].id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.dependencies).toEqual([{ id: many.body.jobs[0].id, status: "queued", name: null }]);
    expect(shown.body.chain.map((c: any) => c.id)).toEqual([many.body.jobs[1].id]);
  });

  it("cancels, retries, skips and moves jobs; steers queues; lists targets, crons and stats", async () => {
    const { api, rw } = await setup();
    const ids = (await api("/api/jobs", { method: "POST", json: { jobs: [{ kind: "k" }, { kind: "k" }, { kind: "k" }] } })).body.jobs.map((j: any) => j.id);
    expect((await api(`/api/jobs/${ids[2]}/move`, { method: "POST", json: { to: "up" } })).body.job.id).toBe(ids[2]);
    expect((await rw.list({})).map((j) => j.id)).toEqual([ids[0], ids[2], ids[1]]);
    await api(`/api/jobs/${ids[1]}/move`, { method: "POST", json: { to: "top" } });
    await api(`/api/jobs/${ids[1]}/move`, { method: "POST", json: { to: "down" } });
    expect((await rw.list({})).map((j) => j.id)).toEqual([ids[0], ids[1], ids[2]]);
    expect((await api(`/api/jobs/${ids[0]}/cancel`, { method: "POST" })).body.job.status).toBe("cancelled");
    expect((await api(`/api/jobs/${ids[0]}/retry`, { method: "POST" })).body.job.status).toBe("queued");
    expect((await api(`/api/jobs/${ids[1]}/skip`, { method: "POST" })).body.job.status).toBe("skipped");

    expect((await api("/api/queues/default/pause", { method: "POST" })).body.queue.state).toBe("paused");
    expect((await api("/api/queues/default/stop", { method: "POST" })).body.queue.state).toBe("stopped");
    expect((await api("/api/queues/default/start", { method: "POST" })).body.queue.state).toBe("running");
    expect((await api("/api/queues/default", { method: "PUT", json: { concurrency: 3 } })).body.queue.concurrency).toBe(3);
    const queues = await api("/api/queues");
    expect(queues.body.queues[0]).toMatchObject({ queue: "default", state: "running", concurrency: 3, counts: { queued: 2, skipped: 1 } });

    await rw.store.targetSet({ target: { name: "lab", host: "alice@lab" } });
    expect((await api("/api/targets")).body.targets[0]).toMatchObject({ name: "lab", host: "alice@lab", reachable: null, counts: {} });
    await rw.cron({ name: "nightly", pattern: "0 3 * * *", kind: "k" });
    expect((await api("/api/crons")).body.crons[0]).toMatchObject({ name: "nightly", pattern: "0 3 * * *" });
    const stats = await api("/api/stats");
    expect(stats.body).toMatchObject({ timeline: [], workers: 0 });
    expect(stats.body.queues[0].queue).toBe("default");
  });

  it("says what is wrong with a 4xx and a JSON body, and never leaks a stack trace", async () => {
    const { api, rw } = await setup();
    const bad = await api("/api/jobs", { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual({ code: "invalid_input", message: "the body is not valid JSON" });
    const unknownField = await api("/api/jobs", { method: "POST", json: { shell: "true", colour: "red" } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toMatch(/colour/);
    const badPriority = await api("/api/jobs", { method: "POST", json: { kind: "k", priority: "urgent" } });
    expect(badPriority.status).toBe(400);
    expect(badPriority.body.error.message).toMatch(/^job\.priority: .*critical/);
    const badLimit = await api("/api/jobs?limit=100000");
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.message).toMatch(/^limit: /);
    expect((await api("/api/jobs/01nosuchjob")).status).toBe(404);
    expect((await api("/api/jobs/01nosuchjob/cancel", { method: "POST" })).body.error).toEqual({ code: "not_found", message: "job 01nosuchjob does not exist" });
    const q = await api("/api/queues/nowhere/pause", { method: "POST" });
    expect(q.status).toBe(404);
    expect(q.body.error.message).toMatch(/queue "nowhere" does not exist/);
    expect((await api("/api/nothing-here")).status).toBe(404);

    const [job] = await rw.addMany([{ kind: "k" }]);
    const w = rw.worker({ handlers: { k: async () => "ok" } });
    await until("completion", async () => (await rw.get(job!.id))!.status === "completed");
    await w.stop();
    const skip = await api(`/api/jobs/${job!.id}/skip`, { method: "POST" });
    expect(skip.status).toBe(409);
    expect(skip.body.error.code).toBe("conflict");
    expect(skip.body.error.message).toMatch(/completed/);

    // The store closed under the server: an internal error, reported without its insides.
    await rw.store.close();
    const broken = await api("/api/queues");
    expect(broken.status).toBe(500);
    expect(broken.body).toEqual({ error: { code: "internal", message: "internal error; the server's log has the details" } });
    expect(JSON.stringify(broken.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it("serves its OpenAPI document, health and readiness, and Prometheus metrics", async () => {
    const { api, rw } = await setup();
    const doc = await api("/api/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/{action}", "/api/jobs/{id}/move", "/api/queues", "/api/queues/{name}/{action}", "/api/targets", "/api/crons", "/api/stats"]),
    );
    expect(doc.body.components.schemas.JobSpec.properties.priority).toBeDefined();
    expect((await api("/healthz")).body).toEqual({ ok: true });
    expect((await api("/readyz")).body.ok).toBe(true);

    await rw.addMany([{ kind: "k", queue: "mail" }, { kind: "k", queue: "mail" }, { kind: "bad", queue: "mail" }]);
    const w = rw.worker({ handlers: { k: async () => null, bad: async () => { throw new Error("boom"); } }, queues: ["mail"] });
    await rw.queue("mail", { concurrency: null });
    await until("the jobs to end", async () => (await rw.stats("mail"))[0]!.counts.completed === 2 && (await rw.stats("mail"))[0]!.counts.failed === 1);
    await w.stop();
    const m = await until("the feed to count them", async () => {
      const r = await api("/metrics");
      return /runway_jobs_completed_total\{queue="mail"\} 2/.test(r.body) && r;
    });
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(m.body).toMatch(/runway_jobs\{queue="mail",status="completed"\} 2/);
    expect(m.body).toMatch(/runway_jobs_failed_total\{queue="mail"\} 1/);
    expect(m.body).toMatch(/runway_attempt_duration_seconds_count\{queue="mail",outcome="completed"\} 2/);
    expect(m.body).toMatch(/runway_workers \d+/);
  });
});

describe("the event stream", () => {
  it("streams added, started, log, completed, queue and drained events as workers run jobs", async () => {
    const { server, rw, home } = await setup();
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/events`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events: { event: string; data: any }[] = [];
    const reader = res.body!.getReader();
    let buffer = "";
    const pump = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    })();
    await until("hello", async () => events.some((e) => e.event === "hello"));
    const [job] = await rw.addMany([{ kind: "shell", queue: "live", payload: { command: null, shell: "echo one; sleep 0.6; echo two", cwd: home, env: null } }]);
    await until("added", async () => events.some((e) => e.event === "added" && e.data.job.id === job!.id));
    await rw.pause("live");
    await until("the queue's pause", async () => events.some((e) => e.event === "queue" && e.data.queue === "live" && e.data.state === "paused"));
    await rw.resume("live");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(home, { recursive: true });
    const w = rw.worker({ handlers: { shell: shellHandler({ home }) }, queues: ["live"] });
    await until("completed", async () => events.some((e) => e.event === "completed" && e.data.job.id === job!.id), 15_000);
    await until("drained", async () => events.some((e) => e.event === "drained" && e.data.queue === "live"));
    await w.stop();
    controller.abort();
    await pump;
    const kinds = events.filter((e) => e.data.job?.id === job!.id || e.data.jobId === job!.id).map((e) => e.event);
    expect(kinds[0]).toBe("added");
    expect(kinds).toContain("started");
    expect(kinds.indexOf("started")).toBeLessThan(kinds.indexOf("completed"));
    expect(events.filter((e) => e.event === "log" && e.data.jobId === job!.id).map((e) => e.data.line)).toContain("one");
    expect(events.find((e) => e.event === "completed")!.data.durationMs).toBeGreaterThan(500);
  });
});

describe("security", () => {
  it("bound beyond loopback without a token: a token is made, kept 0600 in a 0700 home, and required", async () => {
    const { api, home, server } = await setup({ host: "0.0.0.0" });
    expect(server.tokenFile).toBe(join(home, "token"));
    expect(statSync(server.tokenFile!).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const token = server.token!;
    expect((await api("/api/jobs")).status).toBe(401);
    expect((await api("/api/jobs")).body.error.code).toBe("unauthorized");
    expect((await api("/metrics")).status).toBe(401);
    expect((await api("/api/jobs", { headers: { authorization: "Bearer wrong-token-wrong-token" } })).status).toBe(401);
    expect((await api("/api/jobs", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await api("/healthz")).status).toBe(200);
    // The page sends people to the login form, which sets a cookie.
    const page = await api("/");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/login");
    expect((await api("/login", { method: "POST", body: new URLSearchParams({ token: "nope" }) })).status).toBe(401);
    const login = await api("/login", { method: "POST", body: new URLSearchParams({ token }) });
    expect(login.status).toBe(302);
    const cookie = login.headers.get("set-cookie")!;
    expect(cookie).toMatch(/runway_token=.*HttpOnly.*SameSite=Strict/);
    expect((await api("/", { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200);
    // The dashboard's modules need the token as the page does; only the login page's stylesheet is open.
    for (const module of ["/app.js", "/lib/api.js", "/lib/vocabulary.js", "/views/overview.js"]) {
      expect((await api(module)).headers.get("location"), module).toBe("/login");
      expect((await api(module, { headers: { cookie: cookie.split(";")[0]! } })).status, module).toBe(200);
    }
    expect((await api("/app.css")).status).toBe(200);
    expect((await api("/lib/missing.js", { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(404);
  });

  it("refuses a cross-site state change even with the token; reads and same-origin changes pass", async () => {
    const { api, server } = await setup({ token: "a-long-enough-secret-token" });
    const auth = { authorization: "Bearer a-long-enough-secret-token" };
    const host = new URL(server.url).host;
    const crossSite = await api("/api/jobs", { method: "POST", json: { kind: "k" }, headers: { ...auth, "sec-fetch-site": "cross-site", origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe("forbidden");
    expect((await api("/api/jobs", { method: "POST", json: { kind: "k" }, headers: { ...auth, origin: "https://evil.example" } })).status).toBe(403);
    expect((await api("/api/jobs", { method: "POST", json: { kind: "k" }, headers: { ...auth, origin: "null" } })).status).toBe(403);
    expect((await api("/api/jobs", { headers: { ...auth, "sec-fetch-site": "cross-site" } })).status).toBe(200);
    expect((await api("/api/jobs", { method: "POST", json: { kind: "k" }, headers: { ...auth, "sec-fetch-site": "same-origin", origin: `http://${host}` } })).status).toBe(201);
    expect((await api("/api/jobs", { method: "POST", json: { kind: "k" }, headers: { ...auth, origin: `http://${host}` } })).status).toBe(201);
  });

  it("without a token, answers only requests addressed to a loopback name (DNS rebinding)", async () => {
    const { server } = await setup();
    const { request } = await import("node:http");
    const port = Number(new URL(server.url).port);
    const get = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/api/jobs", headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await get(`evil.example:${port}`)).toBe(403);
    expect(await get(`127.0.0.1:${port}`)).toBe(200);
    expect(await get(`localhost:${port}`)).toBe(200);
  });

  it("a read-only server refuses every change; every response carries a content security policy", async () => {
    const { api } = await setup({ readOnly: true });
    const add = await api("/api/jobs", { method: "POST", json: { kind: "k" } });
    expect(add.status).toBe(403);
    expect(add.body.error.code).toBe("read_only");
    expect((await api("/api/jobs")).status).toBe(200);
    const page = await api("/");
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'; script-src 'self'/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("compares tokens by digest, so tokens of any length are compared without throwing or short-cutting", () => {
    expect(tokenMatches("same-token-value-1", "same-token-value-1")).toBe(true);
    expect(tokenMatches("same-token-value-2", "same-token-value-1")).toBe(false);
    expect(tokenMatches("short", "a-much-longer-token-value")).toBe(false);
    expect(tokenMatches("", "x".repeat(32))).toBe(false);
    expect(tokenMatches(null, "x".repeat(32))).toBe(false);
  });
});
