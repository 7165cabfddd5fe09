/**
 * Bad input, generated: whatever a user or a program sends (job specs, durations, backoffs,
 * priorities, cron patterns, markdown task lists, HTTP bodies), runway answers with a clear error
 * of its own or a valid result, never a crash.
 */
import fc from "fast-check";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBackoff } from "../../src/core/backoff.js";
import { prepareCron } from "../../src/core/cron.js";
import { parseDuration } from "../../src/core/duration.js";
import { RunwayError } from "../../src/core/errors.js";
import { parsePriority } from "../../src/core/priority.js";
import { prepareJobs } from "../../src/core/spec.js";
import { TaskListError, parseTaskList } from "../../src/cli/tasklist.js";
import { type Runway, open } from "../../src/runtime/runway.js";
import { type RunningServer, startServer } from "../../src/server/serve.js";
import { tempDir } from "../helpers/tmp.js";

function shown(input: unknown): string {
  try {
    return JSON.stringify(input, (_k, v) => (v === undefined ? "undefined" : v)) ?? String(input);
  } catch {
    return String(input);
  }
}

/**
 * Either a value, or one of runway's own errors with a message that names something; "undefined"
 * or "[object Object]" in a message is a sign of a value printed carelessly, unless the input
 * itself said so.
 */
function cleanly<T>(fn: () => T, input: unknown, errors: (new (...a: never[]) => Error)[] = [RunwayError]): void {
  try {
    fn();
  } catch (err) {
    if (!errors.some((E) => err instanceof E)) throw err;
    const message = (err as Error).message;
    expect(message.length).toBeGreaterThan(5);
    const said = shown(input);
    for (const junk of ["undefined", "[object Object]"]) if (!said.includes(junk)) expect(message).not.toContain(junk);
  }
}

const anything = fc.anything({ withBigInt: false, withNullPrototype: true, withObjectString: true, withDate: true });
const specLike = fc.record(
  {
    kind: fc.oneof(fc.string(), anything),
    payload: anything,
    queue: fc.oneof(fc.string(), anything),
    priority: fc.oneof(fc.constantFrom("critical", "high", "P1", "P9", "urgent", ""), anything),
    runAt: anything,
    delay: fc.oneof(fc.string(), fc.double(), anything),
    dependsOn: anything,
    maxAttempts: fc.oneof(fc.integer(), fc.double(), anything),
    backoff: anything,
    timeout: fc.oneof(fc.string(), fc.double()),
    key: anything,
    name: anything,
    labels: anything,
    ref: anything,
    target: anything,
  },
  { requiredKeys: [] },
);

describe("generated bad input", () => {
  it("job specs: prepareJobs accepts or names the field", () => {
    fc.assert(fc.property(fc.array(fc.oneof(specLike, anything), { maxLength: 4 }), (specs) => cleanly(() => prepareJobs(specs), specs)), { numRuns: 2000 });
  });

  it("durations, backoffs and priorities: a value or a clear error", () => {
    const text = fc.oneof(fc.string(), fc.stringMatching(/^-?\d{0,4}(\.\d{0,3})?\s?(ms|s|m|h|d|w|x|)$/), anything);
    fc.assert(
      fc.property(text, (v) => {
        cleanly(() => {
          const ms = parseDuration(v, "timeout");
          expect(Number.isFinite(ms) && ms >= 0).toBe(true);
        }, v);
        cleanly(() => parseBackoff(v), v);
        cleanly(() => parsePriority(v), v);
      }),
      { numRuns: 3000 },
    );
  });

  it("cron patterns: a schedule or a clear error", () => {
    const field = fc.oneof(fc.constantFrom("*", "*/5", "1-5", "0", "60", "MON", "L", "?", "#"), fc.integer({ min: -5, max: 100 }).map(String), fc.string({ maxLength: 4 }));
    const pattern = fc.oneof(fc.array(field, { minLength: 1, maxLength: 8 }).map((f) => f.join(" ")), fc.constantFrom("@daily", "@hourly", "@nope", ""), fc.string());
    fc.assert(
      fc.property(pattern, fc.oneof(fc.constantFrom("UTC", "Europe/Paris", "Mars/Olympus"), fc.constant(null)), (p, tz) =>
        cleanly(() => prepareCron({ name: "n", pattern: p, kind: "k", timezone: tz }, 1_700_000_000_000), p),
      ),
      { numRuns: 2000 },
    );
  });

  it("markdown task lists: tasks, or an error naming the line", () => {
    const line = fc.oneof(
      fc.constantFrom("# Heading [high]", "## Sub", "- [ ] task `echo hi`", "- [x] done `true` (id: a)", "- [ ] b `make` (after: a)", "- [ ] `x` (after: nope)", "  - nested", "```", "- [ ] `unclosed", ""),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => cleanly(() => parseTaskList(lines.join("\n")), lines, [RunwayError, TaskListError])),
      { numRuns: 2000 },
    );
  });
});

describe("generated HTTP bodies", () => {
  const tmp = tempDir("rw-props-");
  let rw: Runway;
  let server: RunningServer;
  beforeAll(async () => {
    rw = open({ db: join(tmp.dir, "p.db") });
    server = await startServer({ runway: rw, home: join(tmp.dir, "home"), port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await rw.close();
    tmp.cleanup();
  });

  it("any body to any endpoint: a 2xx or a 4xx with a message, never a 5xx", async () => {
    const endpoints = ["/api/jobs", "/api/jobs/01abc/move", "/api/queues/default", "/api/jobs/01abc/cancel"];
    const body = fc.oneof(fc.json(), fc.string(), specLike.map((s) => JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? String(v) : v))));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), fc.constantFrom("POST", "PUT"), body, async (path, method, text) => {
        const res = await fetch(`${server.url}${path}`, { method, headers: { "content-type": "application/json" }, body: text });
        const answer = (await res.json().catch(() => null)) as { error?: { message: string } } | null;
        expect(res.status, `${method} ${path} ${text.slice(0, 80)} → ${JSON.stringify(answer)}`).toBeLessThan(500);
        if (res.status >= 400) expect(answer?.error?.message.length).toBeGreaterThan(5);
      }),
      { numRuns: 400 },
    );
  });
});
