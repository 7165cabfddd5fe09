import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, PermanentFailure, ValidationError, open } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();

describe("the library API on bad input", () => {
  const rw = open({ db: join(tmp.dir, "api.db") });

  it("throws typed errors and writes nothing", async () => {
    await expect(rw.add("k", { n: 1n } as never)).rejects.toThrow(ValidationError);
    await expect(rw.add("k", null, { priority: "P7" as never })).rejects.toThrow(/priority/);
    await expect(rw.add("k", null, { dependsOn: ["nope"] })).rejects.toThrow(/unknown job nope/);
    await expect(rw.addMany([{ kind: "k" }, { kind: "k", backoff: "never" }])).rejects.toThrow(/jobs\[1\]\.backoff/);
    expect(await rw.list()).toEqual([]);
  });

  it("refuses control calls on unknown queues and jobs, and transitions that are not allowed", async () => {
    await expect(rw.pause("ghost")).rejects.toThrow(NotFoundError);
    await expect(rw.setConcurrency("ghost", 2)).rejects.toThrow(/queue "ghost" does not exist/);
    await expect(rw.cancel("01j0000000000000000000000")).rejects.toThrow(NotFoundError);
    const job = await rw.add("k", null);
    await rw.skip(job.id);
    await expect(rw.skip(job.id)).rejects.toThrow(ConflictError);
    await expect(rw.prune({ olderThan: "a while" })).rejects.toThrow(/olderThan: not a duration/);
  });

  it("closes cleanly", async () => {
    await rw.close();
    tmp.cleanup();
  });
});

describe("the library API beyond jobs: queues, targets, escalations, charts", () => {
  const dir = tempDir();
  const db = join(dir.dir, "lib.db");
  const rw = open({ db });
  rw.on("warning", () => {});

  afterAll(async () => {
    await rw.close();
    dir.cleanup();
  });

  it("says where its store lives", () => {
    expect(rw.location).toBe(db);
  });

  it("reads a queue without creating it, and tells whether it has drained", async () => {
    expect(await rw.getQueue("reports")).toBeNull();
    expect(await rw.isDrained("reports")).toBe(true);
    expect((await rw.queues()).map((q) => q.name)).not.toContain("reports");
    await rw.queue("reports", { concurrency: 2 });
    expect(await rw.getQueue("reports")).toMatchObject({ name: "reports", state: "running", concurrency: 2 });
    const job = await rw.add("report", null, { queue: "reports" });
    expect(await rw.isDrained("reports")).toBe(false);
    await rw.cancel(job.id);
    expect(await rw.isDrained("reports")).toBe(true);
  });

  it("adds, lists, reports on and removes targets, refusing to remove one with jobs waiting", async () => {
    const lab = await rw.target({ name: "lab", host: "alice@lab.example.org", concurrency: 2 });
    expect(lab).toMatchObject({ name: "lab", host: "alice@lab.example.org", dir: "runway", concurrency: 2, reachable: null });
    await expect(rw.target({ name: "lab", host: "bob@lab" })).rejects.toThrow(ConflictError);
    expect(await rw.target({ name: "lab", host: "bob@lab" }, { replace: true })).toMatchObject({ host: "bob@lab", concurrency: 1 });
    expect((await rw.targets()).map((t) => t.name)).toEqual(["lab"]);
    expect(await rw.getTarget("nowhere")).toBeNull();

    await rw.reportTarget("lab", { reachable: false, message: "connection refused" });
    expect(await rw.getTarget("lab")).toMatchObject({ reachable: false, message: "connection refused" });
    expect((await rw.getTarget("lab"))!.checkedAt).toBeGreaterThan(0);

    const job = await rw.add("shell", { command: ["true"] }, { queue: "remote", target: "lab" });
    expect(await rw.targetCounts()).toEqual({ lab: { queued: 1 } });
    await expect(rw.removeTarget("lab")).rejects.toThrow(ConflictError);
    await rw.cancel(job.id);
    expect(await rw.targetCounts()).toEqual({});
    expect(await rw.removeTarget("lab")).toBe(true);
    expect(await rw.removeTarget("lab")).toBe(false);
    expect(await rw.targets()).toEqual([]);
  });

  it("lists and removes escalation rules", async () => {
    await rw.escalate({ kind: "aider", after: 2, toKind: "codex" });
    await rw.escalate({ queue: "triage", after: 1, toQueue: "humans" });
    expect(await rw.escalations()).toEqual(
      expect.arrayContaining([
        { queue: null, kind: "aider", after: 2, toQueue: null, toKind: "codex" },
        { queue: "triage", kind: null, after: 1, toQueue: "humans", toKind: null },
      ]),
    );
    expect(await rw.removeEscalation({ kind: "aider" })).toBe(true);
    expect(await rw.removeEscalation({ kind: "aider" })).toBe(false);
    expect(await rw.escalations()).toEqual([{ queue: "triage", kind: null, after: 1, toQueue: "humans", toKind: null }]);
  });

  it("counts completions and failures over time, per queue or all together", async () => {
    const since = Date.now() - 1000;
    const worker = rw.worker({
      queues: ["charts"],
      handlers: {
        ok: async () => "done",
        broken: async () => {
          throw new PermanentFailure("no");
        },
      },
    });
    const drained = new Promise<void>((r) => rw.on("drained", ({ queue }) => queue === "charts" && r()));
    await rw.addMany([
      { kind: "ok", queue: "charts" },
      { kind: "ok", queue: "charts" },
      { kind: "broken", queue: "charts" },
    ]);
    await drained;
    await worker.stop();
    const total = (b: { completed: number; failed: number }[]) => b.reduce((n, x) => ({ completed: n.completed + x.completed, failed: n.failed + x.failed }), { completed: 0, failed: 0 });
    const charts = await rw.timeline({ since, bucketMs: 60_000, queue: "charts" });
    expect(total(charts)).toEqual({ completed: 2, failed: 1 });
    expect(charts[0]!.meanMs).toBeGreaterThanOrEqual(0);
    expect(await rw.timeline({ since, bucketMs: 60_000, queue: "elsewhere" })).toEqual([]);
    expect(await rw.timeline({ since: Date.now() + 60_000, bucketMs: 60_000 })).toEqual([]);
  });

  it("calls a watcher when another connection changes something, until it stops watching", async () => {
    const other = open({ db });
    try {
      let calls = 0;
      const seen = new Promise<void>((r) => {
        const stop = rw.watch(() => {
          calls++;
          stop();
          r();
        });
      });
      await other.add("ping", null, { queue: "watched" });
      await seen;
      const after = calls;
      await other.add("ping", null, { queue: "watched" });
      await new Promise((r) => setTimeout(r, 300));
      expect(calls).toBe(after);
    } finally {
      await other.close();
    }
  });
});
