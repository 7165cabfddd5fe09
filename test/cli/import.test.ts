/**
 * `runway import`: the task list grammar as a pure function, then the built CLI as a user runs
 * it, against a temporary RUNWAY_HOME and SQLite file.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Task, TaskListError, parseTaskList } from "../../src/cli/tasklist.js";
import { open } from "../../src/index.js";
import { cli as runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
let seq = 0;

afterAll(() => tmp.cleanup());

function cli(db: string) {
  return runCli(tmp.dir, db);
}

/** A fresh database, and a folder of its own for the list (commands run there). */
function fresh() {
  const dir = join(tmp.dir, `list-${++seq}`);
  mkdirSync(dir);
  const list = join(dir, "tasks.md");
  const db = join(tmp.dir, `import-${seq}.db`);
  return {
    runway: cli(db),
    db,
    dir,
    list,
    /** The list's path relative to where the CLI runs. */
    rel: join(`list-${seq}`, "tasks.md"),
    write: (text: string) => writeFileSync(list, text),
  };
}

const md = (...lines: string[]) => `${lines.join("\n")}\n`;
const pick = (tasks: Task[], ...fields: (keyof Task)[]) =>
  tasks.map((t) => Object.fromEntries(fields.map((f) => [f, t[f]])));

function parseError(text: string): TaskListError {
  try {
    parseTaskList(text);
  } catch (err) {
    if (err instanceof TaskListError) return err;
    throw err;
  }
  throw new Error("expected a TaskListError");
}

describe("task list grammar", () => {
  it("takes priority from headings: a section's heading holds for deeper headings until a sibling replaces it", () => {
    const tasks = parseTaskList(
      md(
        "# Release 2.0",
        "- [ ] a: none yet `a`",
        "## P1",
        "- [ ] b: under P1 `b`",
        "### Backend",
        "- [ ] c: inherits P1 `c`",
        "## Critical",
        "- [ ] d: `d`",
        "## High priority",
        "- [ ] e: `e`",
        "## P2 — nice to have",
        "- [ ] f: `f`",
        "## low: later",
        "- [ ] g: `g`",
        "## High availability",
        "- [ ] h: an ordinary heading resets to normal `h`",
        "## P4",
        "# Next chapter",
        "- [ ] i: a higher heading ends the P4 section `i`",
      ),
    );
    expect(pick(tasks, "id", "priority")).toEqual([
      { id: "a", priority: "normal" },
      { id: "b", priority: "critical" },
      { id: "c", priority: "critical" },
      { id: "d", priority: "critical" },
      { id: "e", priority: "high" },
      { id: "f", priority: "high" },
      { id: "g", priority: "low" },
      { id: "h", priority: "normal" },
      { id: "i", priority: "normal" },
    ]);
  });

  it("takes priority from a [P2] or #P2 tag, which wins over the heading and leaves the description", () => {
    const tasks = parseTaskList(
      md("## P4", "- [ ] a: [P2] Tagged `a`", "- [ ] b: Hash tagged #p1 `b`", "- [ ] c: Word tag [critical] `c`", "- [ ] d: From the heading `d`", "- [ ] e: Not a tag: #P1x or [P1](http://x) `e`"),
    );
    expect(pick(tasks, "id", "priority", "description")).toEqual([
      { id: "a", priority: "high", description: "Tagged" },
      { id: "b", priority: "critical", description: "Hash tagged" },
      { id: "c", priority: "critical", description: "Word tag" },
      { id: "d", priority: "low", description: "From the heading" },
      { id: "e", priority: "low", description: "Not a tag: #P1x or [P1](http://x)" },
    ]);
  });

  it("reads the command from inline code, a cmd: line or an indented fenced block", () => {
    const tasks = parseTaskList(
      md(
        "- [ ] inline: Inline — `make site`",
        "- [ ] ticks: With a backtick ``echo `date` > now.txt``",
        "- [ ] line: Update `README.md`",
        "  cmd: sed -i s/a/b/ README.md",
        "- [ ] wrapped: cmd as code",
        "  - cmd: `ls -l`",
        "- [ ] block:",
        "  ```sh",
        "  set -e",
        "  for f in *.csv; do",
        "    wc -l \"$f\"",
        "  done",
        "  ```",
        "* [ ] star: other bullets `true`",
        "1. [ ] numbered: and numbers `true`",
      ),
    );
    expect(pick(tasks, "id", "command", "description")).toEqual([
      { id: "inline", command: "make site", description: "Inline" },
      { id: "ticks", command: "echo `date` > now.txt", description: "With a backtick" },
      { id: "line", command: "sed -i s/a/b/ README.md", description: "Update `README.md`" },
      { id: "wrapped", command: "ls -l", description: "cmd as code" },
      { id: "block", command: 'set -e\nfor f in *.csv; do\n  wc -l "$f"\ndone', description: "set -e …" },
      { id: "star", command: "true", description: "other bullets" },
      { id: "numbered", command: "true", description: "and numbers" },
    ]);
  });

  it("reads dependencies from (after: …), (depends: …) and indented after:/depends: lines", () => {
    const tasks = parseTaskList(
      md(
        "- [ ] t1: `a`",
        "- [ ] t2: `b`",
        "- [ ] t_3.x: Both (after: t1, t2) `c`",
        "- [ ] t-4: `d` (depends: t1)",
        "  depends: t2 t_3.x",
        "  after: t1",
      ),
    );
    expect(pick(tasks, "id", "dependsOn", "description")).toEqual([
      { id: "t1", dependsOn: [], description: "a" },
      { id: "t2", dependsOn: [], description: "b" },
      { id: "t_3.x", dependsOn: ["t1", "t2"], description: "Both" },
      { id: "t-4", dependsOn: ["t1", "t2", "t_3.x"], description: "d" },
    ]);
  });

  it("marks checked items done, without needing a command, and may depend on them", () => {
    const tasks = parseTaskList(md("- [x] old: Did it by hand", "- [X] older: `true`", "- [ ] new: `true` (after: old)"));
    expect(pick(tasks, "id", "done", "command", "dependsOn")).toEqual([
      { id: "old", done: true, command: null, dependsOn: [] },
      { id: "older", done: true, command: "true", dependsOn: [] },
      { id: "new", done: false, command: "true", dependsOn: ["old"] },
    ]);
  });

  it("ignores prose, plain bullets, code blocks and HTML comments outside tasks; reads CRLF and tab indents", () => {
    const text = md(
      "Notes with `code` and [a link](x).",
      "- a plain bullet",
      "  - with a child",
      "```md",
      "- [ ] example: shown, not queued `no`",
      "```",
      "<!--",
      "- [ ] hidden: commented out `no`",
      "-->",
      "- Group",
      "  - [ ] nested: under a plain bullet `yes`",
      "- [ ] tabbed: Tabbed",
      "\tcmd: echo tab",
      "A paragraph ends the item.",
    ).replaceAll("\n", "\r\n");
    const tasks = parseTaskList(text);
    expect(pick(tasks, "id", "command", "line")).toEqual([
      { id: "nested", command: "yes", line: 11 },
      { id: "tabbed", command: "echo tab", line: 12 },
    ]);
  });

  it("says which line is wrong and what it expects", () => {
    const cases: [string, number | null, RegExp][] = [
      [md("# T", "", "- [ ] a: Nothing to run"), 3, /task "a" has no command; write it as inline code/],
      [md("- [] a: `x`"), 1, /expected a task as "- \[ \] <id>: <description>"/],
      [md("-[ ] a: `x`"), 1, /expected a task as/],
      [md("- [y] a: `x`"), 1, /expected a task as/],
      [md("- [ ] Build the site `make`"), 1, /expected "<id>: <description>" after the checkbox/],
      [md("- [ ] my task: `make`"), 1, /"my task" is not a task id; ids are letters, digits/],
      [md("- [ ] a: `x`", "- [ ] b: `y` (after: a, nope)"), 2, /task "b" depends on "nope", which is not a task in this list/],
      [md("- [ ] a: `x`", "- [ ] b: `y`", "  depends: zz"), 3, /task "b" depends on "zz"/],
      [md("- [ ] a: `x` (after a)"), 1, /expected "\(after: id, id\)" with a colon/],
      [md("- [ ] a: `x` (after: b)", "- [ ] b: `y` (after: a)"), 1, /dependency cycle: a -> b -> a/],
      [md("- [ ] a: `x` (after: a)"), 1, /dependency cycle: a -> a/],
      [md("- [ ] a: `x` `y`"), 1, /2 inline code spans/],
      [md("- [ ] a: `x"), 1, /inline code opened with ` is not closed/],
      [md("- [ ] a: `x` [P5]"), 1, /unknown priority tag "\[P5\]"/],
      [md("- [ ] a: `x` [P1] #P2"), 1, /two priorities in one item/],
      [md("- [ ] a: Fetch", "  the data", "  cmd: x"), 2, /unexpected text in task "a" \(line 1\); an indented line under a task must be/],
      [md("- [ ] a: x", "", "  ```", "  echo"), 3, /code block of task "a" is not closed/],
      [md("- [ ] a: x", "  ```", "  ```"), 2, /code block of task "a" is empty/],
      [md("- [ ] a: `x`", "  cmd: y", "  cmd: z"), 3, /already has a command \("cmd:" on line 2\)/],
      [md("- [ ] a: `x`", "  - [ ] b: `y`"), 2, /tasks do not nest/],
      [md("- [ ] a: `x`", "", "- [ ] a: `y`"), 3, /task id "a" is already used on line 1/],
      [md("- [ ] a: `x`", "  after:"), 2, /"after:" names no task/],
      [md("- [ ] a: `x` (after: b!)"), 1, /"b!" is not a task id/],
      [md("# Just notes", "- nothing to do"), null, /no tasks found/],
    ];
    for (const [text, line, message] of cases) {
      const err = parseError(text);
      expect(err.line, text).toBe(line);
      expect(err.detail, text).toMatch(message);
      expect(err.code).toBe("invalid_input");
    }
  });
});

describe("runway import", () => {
  it("adds each open task as a shell job, and adds nothing when imported again", async () => {
    const { runway, dir, list, rel, write } = fresh();
    write(
      md(
        "# Build",
        "## P1",
        "- [ ] fetch: Download the data `./fetch.sh`",
        "## P3",
        "- [ ] report: Build the report (after: fetch)",
        "  cmd: make report",
        "- [x] setup: Set up once `./setup.sh`",
      ),
    );
    const dry = await runway("import", rel, "--dry-run");
    expect(dry.stdout).toBe("would add fetch Download the data\nwould add report Build the report\nwould add 2, already known 0, finished 1 (dry run: nothing added)\n");
    expect(JSON.parse((await runway("ls", "--json")).stdout)).toEqual([]);

    const first = await runway("import", list, "--json");
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.known).toEqual([]);
    expect(out.finished).toEqual(["setup"]);
    const path = realpathSync(list);
    expect(out.added).toMatchObject([
      { kind: "shell", status: "queued", priority: "critical", shell: "./fetch.sh", command: null, cwd: realpathSync(dir), name: "fetch: Download the data", labels: { tasklist: path, task: "fetch" } },
      { status: "blocked", priority: "normal", shell: "make report", name: "report: Build the report", labels: { tasklist: path, task: "report" }, dependsOn: [out.added[0].id] },
    ]);
    expect(out.added[0].env).toContain("PATH");

    // The relative path names the same list as the absolute one.
    const again = await runway("import", rel);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("added 0, already known 2, finished 1\n");
    expect(JSON.parse((await runway("ls", "--json")).stdout)).toHaveLength(2);
  });

  it("adds only the tasks new to the list, their dependencies on earlier tasks mapped to those jobs", async () => {
    const { runway, list, write } = fresh();
    const v1 = md("- [ ] a: First `true`", "- [ ] b: Second `true` (after: a)");
    write(v1);
    const first = JSON.parse((await runway("import", list, "--json")).stdout);
    const [a, b] = first.added.map((j: { id: string }) => j.id);

    // New tasks anywhere in the file, one on an old task, one on a new one, one on a checked one.
    write(
      md(
        "- [ ] c: Third `true` (after: a, d)",
        "- [ ] a: First `true`",
        "- [ ] b: Second `true` (after: a)",
        "- [ ] d: Fourth `true` #P2",
        "  depends: b",
        "- [x] e: Done by hand (after: a)",
        "- [ ] f: After the checked one `true` (after: e)",
      ),
    );
    const second = await runway("import", list);
    expect(second.code).toBe(0);
    const lines = second.stdout.trim().split("\n");
    // Dependencies first: d is added before c, which waits for it.
    expect(lines.slice(0, 3).map((l) => l.split(" ").slice(1).join(" "))).toEqual(["d Fourth", "c Third", "f After the checked one"]);
    expect(lines[3]).toBe("added 3, already known 2, finished 1");
    const ids = Object.fromEntries(lines.slice(0, 3).map((l) => [l.split(" ")[1], l.split(" ")[0]]));
    const show = async (id: string) => JSON.parse((await runway("show", id, "--json")).stdout);
    expect(await show(ids.d!)).toMatchObject({ dependsOn: [b], priority: "high", labels: { task: "d" } });
    expect((await show(ids.c!)).dependsOn.sort()).toEqual([a, ids.d].sort());
    expect(await show(ids.f!)).toMatchObject({ dependsOn: [], status: "queued" });

    const third = await runway("import", list, "--json");
    expect(JSON.parse(third.stdout)).toEqual({ added: [], known: ["c", "a", "b", "d", "f"], finished: ["e"] });
  });

  it("never adds checked tasks, even ones it has never seen", async () => {
    const { runway, list, write } = fresh();
    write(md("- [x] a: Done `true`", "- [x] b: Done too `true`"));
    expect((await runway("import", list)).stdout).toBe("added 0, already known 0, finished 2\n");
    write(md("- [x] a: Done `true`", "- [x] b: Done too `true`", "- [ ] c: Open `true` (after: a)"));
    expect((await runway("import", list)).stdout).toMatch(/^[0-9a-z]{26} c Open\nadded 1, already known 0, finished 2\n$/);
    write(md("- [x] a: Done `true`", "- [x] b: Done too `true`", "- [x] c: Open `true` (after: a)"));
    expect((await runway("import", list)).stdout).toBe("added 0, already known 0, finished 3\n");
    expect(JSON.parse((await runway("ls", "--json")).stdout)).toHaveLength(1);
  });

  it("finds earlier imports past the first page of a busy queue", async () => {
    const { runway, list, write, db } = fresh();
    write(md("- [ ] a: `true`", "- [ ] b: `true`"));
    expect((await runway("import", list)).stdout).toMatch(/added 2/);
    const rw = open({ db });
    await rw.addMany(Array.from({ length: 2500 }, () => ({ kind: "other" })));
    await rw.close();
    write(md("- [ ] a: `true`", "- [ ] b: `true`", "- [ ] c: `true` (after: a)"));
    const out = JSON.parse((await runway("import", list, "--json")).stdout);
    expect(out.known).toEqual(["a", "b"]);
    expect(out.added).toHaveLength(1);
    expect(out.added[0].dependsOn).toHaveLength(1);
  });

  it("keeps each queue's tasks apart: --queue adds there and looks for earlier imports there", async () => {
    const { runway, list, write } = fresh();
    write(md("- [ ] a: `true`"));
    expect((await runway("import", "-q", "nightly", list, "--json")).stdout).toContain('"queue": "nightly"');
    expect((await runway("import", "-q", "nightly", list)).stdout).toBe("added 0, already known 1, finished 0\n");
    expect((await runway("import", list)).stdout).toMatch(/added 1, already known 0/);
  });

  it("runs the imported tasks in dependency and priority order, in the folder of the list", async () => {
    const { runway, dir, list, write } = fresh();
    write(
      md(
        "# Pipeline",
        "- [ ] report: Report, normal, waits for the build `echo report >> order.log` (after: build)",
        "- [ ] lint: Lint, normal `echo lint >> order.log`",
        "## Low",
        "- [ ] tidy: Tidy, low `echo tidy >> order.log`",
        "## P1",
        "- [ ] build: Build, critical, waits for fetch (after: fetch)",
        "  ```sh",
        "  echo build >> order.log",
        "  ```",
        "- [ ] fetch: Fetch, low by tag [P4] `echo fetch >> order.log`",
        "- [x] old: Finished `echo old >> order.log`",
      ),
    );
    expect((await runway("import", list)).code).toBe(0);
    const worker = await runway("worker", "--until-empty");
    expect(worker.code).toBe(0);
    // lint (normal) runs before fetch (low); build is critical but waits for fetch; report waits for build.
    expect(readFileSync(join(dir, "order.log"), "utf8").trim().split("\n")).toEqual(["lint", "fetch", "build", "report", "tidy"]);
    const jobs = JSON.parse((await runway("ls", "--json")).stdout) as { status: string }[];
    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill("completed"));
    expect((await runway("import", list)).stdout).toBe("added 0, already known 5, finished 1\n");
  });

  it("refuses a missing file or a bad list with exit 2 and one line naming the place, adding nothing", async () => {
    const { runway, list, write } = fresh();
    const missing = await runway("import", "nope.md");
    expect(missing).toMatchObject({ code: 2, stdout: "", stderr: "runway: nope.md: no such file\n" });

    write(md("# Tasks", "- [ ] a: `true`", "- [ ] b: Needs a command"));
    const bad = await runway("import", list);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^runway: ${list.replaceAll(".", "\\.")}:3: task "b" has no command; [^\\n]*\\n$`));

    write(md("- [ ] a: `true` (after: ghost)"));
    const dep = await runway("import", list, "--dry-run");
    expect(dep.code).toBe(2);
    expect(dep.stderr).toBe(`runway: ${list}:1: task "a" depends on "ghost", which is not a task in this list\n`);

    write(md("- [ ] a: `true` (after: b)", "- [ ] b: `true` (after: a)"));
    expect((await runway("import", list)).stderr).toBe(`runway: ${list}:1: dependency cycle: a -> b -> a\n`);

    write(md("- [ ] a: `true`"));
    const queue = await runway("import", "-q", "no queue", list);
    expect(queue.code).toBe(2);
    expect(queue.stderr.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse((await runway("ls", "--json")).stdout)).toEqual([]);
  });
});
