import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/core/duration.js";
import { ValidationError } from "../../src/core/errors.js";
import { parsePriority } from "../../src/core/priority.js";
import { prepareJobs } from "../../src/core/spec.js";

describe("job specs", () => {
  it("accepts priorities by name or as P1..P4", () => {
    expect(["critical", "HIGH", "p3", "P4"].map((p) => parsePriority(p))).toEqual(["critical", "high", "normal", "low"]);
    expect(() => parsePriority("urgent")).toThrow(/unknown priority "urgent"; use critical, high, normal or low \(or P1..P4\)/);
  });

  it("reads durations as ms or text", () => {
    expect(parseDuration("1h30m", "d")).toBe(5_400_000);
    expect(parseDuration("250ms", "d")).toBe(250);
    expect(parseDuration(1500, "d")).toBe(1500);
    expect(() => parseDuration("-5s", "delay")).toThrow(/delay: must not be negative/);
    expect(() => parseDuration("soon", "timeout")).toThrow(/timeout: not a duration/);
  });

  it("refuses bad input with a message that names the field", () => {
    const bad: [unknown, RegExp][] = [
      [{ kind: "k", payload: { n: 1n } }, /job\.payload: is not JSON-serialisable/],
      [{ kind: "k", priority: "urgent" }, /job\.priority: unknown priority/],
      [{ kind: "k", backoff: "sometimes" }, /job\.backoff\.strategy: unknown backoff/],
      [{ kind: "k", delay: -5 }, /job\.delay: must not be negative/],
      [{ kind: "k", maxAttempts: 0 }, /job\.maxAttempts/],
      [{ kind: "k", runAt: "next tuesday" }, /job\.runAt: not a time/],
      [{ kind: "k", colour: "red" }, /unknown field "colour"/],
      [{ kind: "bad kind!" }, /job\.kind/],
      [{ payload: 1 }, /job\.kind/],
      ["just a string", /job: a job spec must be an object/],
    ];
    for (const [spec, message] of bad) {
      expect(() => prepareJobs([spec]), JSON.stringify(spec, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))).toThrow(message);
      expect(() => prepareJobs([spec])).toThrow(ValidationError);
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => prepareJobs([{ kind: "k", payload: circular }])).toThrow(/payload: is not JSON-serialisable/);
  });

  it("names the index of a bad job in a batch", () => {
    expect(() => prepareJobs([{ kind: "a" }, { kind: "b", priority: "P9" }])).toThrow(/^jobs\[1\]\.priority/);
  });

  it("resolves refs inside a batch and refuses cycles", () => {
    const [a, b] = prepareJobs([{ ref: "a", kind: "k" }, { kind: "k", dependsOn: ["a"] }]);
    expect(b!.dependsOn).toEqual([a!.id]);
    expect(() =>
      prepareJobs([
        { ref: "a", kind: "k", dependsOn: ["c"] },
        { ref: "b", kind: "k", dependsOn: ["a"] },
        { ref: "c", kind: "k", dependsOn: ["b"] },
      ]),
    ).toThrow(/dependency cycle: .* -> .* -> .* -> /);
  });

  it("gives ids that sort by creation time", () => {
    const ids = prepareJobs(Array.from({ length: 100 }, () => ({ kind: "k" }))).map((j) => j.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(100);
  });
});
