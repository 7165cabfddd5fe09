import { describe, expect, it } from "vitest";
import { remoteCommand, shellQuote } from "../../../src/executors/ssh/quote.js";
import { spawnSync } from "node:child_process";

/** Strings that break naive quoting: substitutions, quotes, whitespace, globs, options, unicode. */
export const HOSTILE = [
  "$(touch /tmp/runway-pwned)",
  "`id`",
  "it's",
  "'",
  "''",
  '"double" and \\backslash\\',
  "a b\tc",
  "line one\nline two",
  "*",
  "~",
  "-n",
  "--",
  "; rm -rf / #",
  "$HOME ${PATH} $((1+1))",
  "ünïcødé ✓",
  "%s%n",
  "",
];

describe("shell quoting", () => {
  it("round-trips every hostile string through a real POSIX shell, word for word", () => {
    const line = remoteCommand(["printf", "<%s>\\n", ...HOSTILE]);
    const r = spawnSync("/bin/sh", ["-c", line], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(HOSTILE.map((h) => `<${h}>\n`).join(""));
  });

  it("quotes each word in single quotes and escapes the quote itself", () => {
    expect(shellQuote("plain")).toBe("'plain'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(() => shellQuote("nul\0byte")).toThrow(/NUL/);
    expect(() => remoteCommand([])).toThrow(/at least one word/);
  });
});
