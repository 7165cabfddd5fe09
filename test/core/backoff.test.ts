import { describe, expect, it } from "vitest";
import { backoffDelay, parseBackoff } from "../../src/core/backoff.js";
import { ValidationError } from "../../src/core/errors.js";

describe("backoff", () => {
  const waits = (text: string, n: number) => Array.from({ length: n }, (_, i) => backoffDelay(parseBackoff(text), i + 1));

  it("computes each strategy from its base", () => {
    expect(waits("immediate", 3)).toEqual([0, 0, 0]);
    expect(waits("linear:100", 4)).toEqual([100, 200, 300, 400]);
    expect(waits("exponential:100", 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(waits("fibonacci:100", 7)).toEqual([100, 100, 200, 300, 500, 800, 1300]);
  });

  it("never waits longer than the cap, even after a thousand failures", () => {
    for (const s of ["linear", "exponential", "fibonacci"]) {
      const b = parseBackoff(`${s}:1s:1m`);
      for (let n = 1; n <= 1000; n++) expect(backoffDelay(b, n)).toBeLessThanOrEqual(60_000);
      expect(backoffDelay(b, 1000)).toBe(60_000);
    }
  });

  it("jitter shortens each wait by up to its fraction", () => {
    const b = parseBackoff({ strategy: "linear", base: 1000, jitter: 0.5 });
    expect(backoffDelay(b, 2, () => 0)).toBe(2000);
    expect(backoffDelay(b, 2, () => 1)).toBe(1000);
    expect(parseBackoff({ strategy: "linear", jitter: true }).jitter).toBe(0.5);
  });

  it("reads durations in the text form", () => {
    expect(parseBackoff("exponential:2s:10m")).toEqual({ strategy: "exponential", baseMs: 2000, capMs: 600_000, jitter: 0 });
  });

  it("names the strategies allowed when given an unknown one", () => {
    expect(() => parseBackoff("quadratic")).toThrow(ValidationError);
    expect(() => parseBackoff("quadratic")).toThrow(/immediate, linear, exponential or fibonacci/);
    expect(() => parseBackoff({ strategy: "linear", jitter: 2 })).toThrow(/jitter/);
  });
});
