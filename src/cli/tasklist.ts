/**
 * The markdown task list `runway import` reads: text in, tasks out, nothing else touched.
 * The grammar is described for users in docs/tasklist-format.md; keep the two in step.
 */
import { ValidationError } from "../core/errors.js";
import { PRIORITIES, type Priority } from "../core/priority.js";

export interface Task {
  id: string;
  /** The item's text without its id, command, tags and dependencies; the command's first line if that leaves nothing. */
  description: string;
  /** The shell line or script; null only for a checked item that gives none. */
  command: string | null;
  /** A checked box: finished, never queued. */
  done: boolean;
  priority: Priority;
  /** Ids of other tasks of the same list, each once, in the order written. */
  dependsOn: string[];
  /** 1-based line of the checkbox. */
  line: number;
}

/** A task list that does not follow the grammar; `line` is 1-based, null when no one line is at fault. */
export class TaskListError extends ValidationError {
  readonly line: number | null;
  readonly detail: string;
  constructor(line: number | null, detail: string) {
    super(line === null ? "" : `line ${line}`, detail);
    this.line = line;
    this.detail = detail;
  }
}

export const TASK_ID_RE = /^[A-Za-z0-9_.-]+$/;
const ID_HINT = 'letters, digits, "-", "_" and "."';
const EXAMPLE = "- [ ] build: Build the site `make site`";

const PRIORITY_WORDS = "p[1-4]|critical|high|normal|low";
// A P-code is unambiguous wherever it starts a heading ("## P1 Critical"); a plain word only
// counts when it is the whole heading, so "## High availability" stays an ordinary heading.
const HEADING_PCODE_RE = /^p([1-4])(?=$|[\s:(—–-])/i;
const HEADING_WORD_RE = /^(critical|high|normal|low)(?:\s+priority)?(?:\s*$|\s*[:(—–]|\s+-)/i;
const BRACKET_TAG_RE = new RegExp(`\\[(${PRIORITY_WORDS})\\](?!\\()`, "gi");
const HASH_TAG_RE = new RegExp(`(^|\\s)#(${PRIORITY_WORDS})(?![\\w-])`, "gi");
const BAD_TAG_RE = /\[p\d+\](?!\()|(?:^|\s)#p\d+(?![\w-])/i;
const DEPS_RE = /\((after|depends)\s*:([^)]*)\)/gi;
const BAD_DEPS_RE = /\((after|depends)\b(?!\s*:)/i;

const BULLET = String.raw`(?:[-*+]|\d{1,9}[.)])`;
const TASK_RE = new RegExp(String.raw`^([ \t]*)${BULLET}[ \t]+\[([ xX])\](?:[ \t]+(.*))?$`);
/** Anything a reader would take for a checkbox: "-[ ]", "- []", "- [y]", "- [ ]build". */
const TASKISH_RE = new RegExp(String.raw`^[ \t]*${BULLET}[ \t]*\[[^\]]{0,2}\](?![(\[:])`);
const HEADING_RE = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE_RE = /^[ \t]*(`{3,}|~{3,})(.*)$/;
const KEY_RE = /^(?:[-*+][ \t]+)?(cmd|after|depends)[ \t]*:(.*)$/i;

function priorityOf(word: string): Priority {
  const w = word.toLowerCase();
  const p = /^p([1-4])$/.exec(w);
  return p ? PRIORITIES[Number(p[1]) - 1]! : (w as Priority);
}

/** The priority a heading's text names, or null for an ordinary heading. */
export function headingPriority(text: string): Priority | null {
  const t = text.trim();
  const code = HEADING_PCODE_RE.exec(t);
  if (code) return PRIORITIES[Number(code[1]) - 1]!;
  const word = HEADING_WORD_RE.exec(t);
  return word ? priorityOf(word[1]!) : null;
}

/** Columns of leading whitespace, a tab reaching the next multiple of 4 as markdown counts it. */
function indentOf(line: string): number {
  let col = 0;
  for (const ch of line) {
    if (ch === " ") col++;
    else if (ch === "\t") col += 4 - (col % 4);
    else break;
  }
  return col;
}

/** The line without up to `cols` columns of leading whitespace, so a block keeps its own indentation. */
function dedent(line: string, cols: number): string {
  let col = 0;
  let i = 0;
  while (i < line.length && col < cols) {
    const ch = line[i];
    if (ch === " ") col++;
    else if (ch === "\t") col += 4 - (col % 4);
    else break;
    i++;
  }
  return line.slice(i);
}

const isBlank = (line: string) => line.trim() === "";

interface Fence {
  char: string;
  length: number;
}

function fenceOpen(line: string): Fence | null {
  const m = FENCE_RE.exec(line);
  if (!m) return null;
  const marker = m[1]!;
  // A backtick fence's info string may not hold a backtick (CommonMark), else it is inline code.
  if (marker[0] === "`" && m[2]!.includes("`")) return null;
  return { char: marker[0]!, length: marker.length };
}

function fenceCloses(line: string, fence: Fence): boolean {
  const t = line.trim();
  return t.length >= fence.length && [...t].every((c) => c === fence.char);
}

function idList(text: string, line: number, what: string): string[] {
  const ids = text.split(/[\s,]+/).filter(Boolean);
  if (ids.length === 0) throw new TaskListError(line, `${what} names no task; expected task ids separated by commas, e.g. "after: fetch, setup"`);
  for (const id of ids) {
    if (!TASK_ID_RE.test(id)) throw new TaskListError(line, `${what}: ${JSON.stringify(id)} is not a task id; ids are ${ID_HINT}`);
  }
  return ids;
}

interface Span {
  code: boolean;
  /** For code: the content, with the one space of padding CommonMark strips removed. */
  text: string;
  /** As written, backticks included. */
  raw: string;
}

/** Splits text into inline code spans and the text between them. */
function spans(text: string, line: number): Span[] {
  const out: Span[] = [];
  let i = 0;
  let plain = "";
  while (i < text.length) {
    if (text[i] !== "`") {
      plain += text[i++];
      continue;
    }
    let n = 0;
    while (text[i + n] === "`") n++;
    const ticks = "`".repeat(n);
    let close = -1;
    for (let j = text.indexOf(ticks, i + n); j !== -1; j = text.indexOf(ticks, j + 1)) {
      if (text[j - 1] !== "`" && text[j + n] !== "`") {
        close = j;
        break;
      }
    }
    if (close === -1) throw new TaskListError(line, `inline code opened with ${ticks} is not closed; close it with ${ticks} on the same line`);
    if (plain) out.push({ code: false, text: plain, raw: plain });
    plain = "";
    let content = text.slice(i + n, close);
    if (content.length > 2 && content.startsWith(" ") && content.endsWith(" ") && content.trim() !== "") content = content.slice(1, -1);
    out.push({ code: true, text: content, raw: text.slice(i, close + n) });
    i = close + n;
  }
  if (plain) out.push({ code: false, text: plain, raw: plain });
  return out;
}

interface Dep {
  id: string;
  line: number;
}

interface Title {
  description: string;
  codes: Span[];
  /** The description with the code spans left in, for when the command comes from the body. */
  descriptionWithCode: string;
  priority: Priority | null;
  deps: Dep[];
}

const tidy = (s: string) =>
  s
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\s*[:—–-]+$/, "")
    .trim();

/** The part of an item's first line after "<id>:": tags and "(after: …)" taken out, code spans set aside. */
function parseTitle(text: string, line: number): Title {
  const parts = spans(text, line);
  let priority: Priority | null = null;
  const deps: Dep[] = [];
  const setPriority = (word: string) => {
    const p = priorityOf(word);
    if (priority !== null && priority !== p) throw new TaskListError(line, `two priorities in one item (${priority} and ${p}); keep one tag`);
    priority = p;
  };
  const cleaned = parts.map((part) => {
    if (part.code) return part;
    let t = part.text;
    const bad = BAD_DEPS_RE.exec(t);
    if (bad) throw new TaskListError(line, `expected "(${bad[1]!.toLowerCase()}: id, id)" with a colon after "${bad[1]}"`);
    t = t.replace(DEPS_RE, (_m, kw: string, ids: string) => {
      for (const id of idList(ids, line, `(${kw.toLowerCase()}: …)`)) deps.push({ id, line });
      return " ";
    });
    t = t.replace(BRACKET_TAG_RE, (_m, word: string) => {
      setPriority(word);
      return " ";
    });
    t = t.replace(HASH_TAG_RE, (_m, lead: string, word: string) => {
      setPriority(word);
      return lead;
    });
    const badTag = BAD_TAG_RE.exec(t);
    if (badTag) throw new TaskListError(line, `unknown priority tag ${JSON.stringify(badTag[0].trim())}; use [P1]..[P4] or #P1..#P4 (P1 is critical, P4 low)`);
    return { ...part, text: t, raw: t };
  });
  const codes = cleaned.filter((p) => p.code);
  return {
    description: tidy(cleaned.map((p) => (p.code ? " " : p.text)).join("")),
    descriptionWithCode: tidy(cleaned.map((p) => p.raw).join("")),
    codes,
    priority,
    deps,
  };
}

interface Draft {
  task: Task;
  deps: Dep[];
}

/**
 * Parses a markdown task list. Throws TaskListError naming the first line that does not fit the
 * grammar, a task without a command, a repeated id, a dependency on a task not in the list, or
 * a dependency cycle.
 */
export function parseTaskList(text: string): Task[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  // Priority per open heading level, so a deeper heading inherits and a sibling replaces.
  const headings: { level: number; priority: Priority | null }[] = [];
  const drafts: Draft[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const no = i + 1;
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = fenceOpen(line);
    if (fence) {
      // An example block outside any task is prose: nothing in it is a task.
      i++;
      while (i < lines.length && !fenceCloses(lines[i]!, fence)) i++;
      i++;
      continue;
    }
    if (line.trimStart().startsWith("<!--")) {
      // Commented out, tasks included.
      const start = line.indexOf("<!--");
      if (line.indexOf("-->", start + 4) === -1) {
        i++;
        while (i < lines.length && !lines[i]!.includes("-->")) i++;
      }
      i++;
      continue;
    }
    const heading = HEADING_RE.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      while (headings.length > 0 && headings[headings.length - 1]!.level >= level) headings.pop();
      headings.push({ level, priority: headingPriority(heading[2] ?? "") });
      i++;
      continue;
    }
    const item = TASK_RE.exec(line);
    if (!item) {
      if (TASKISH_RE.test(line)) {
        throw new TaskListError(no, `expected a task as "- [ ] <id>: <description>" (or "- [x]" when finished), e.g. "${EXAMPLE}"`);
      }
      i++;
      continue;
    }
    const sectionPriority = [...headings].reverse().find((h) => h.priority !== null)?.priority ?? null;
    const { draft, next } = parseItem(lines, i, item, sectionPriority);
    drafts.push(draft);
    i = next;
  }
  return finish(drafts);
}

function parseItem(lines: string[], at: number, item: RegExpExecArray, sectionPriority: Priority | null): { draft: Draft; next: number } {
  const no = at + 1;
  const bulletIndent = indentOf(item[1]!);
  const done = item[2] !== " ";
  const rest = (item[3] ?? "").trim();
  const head = /^([^\s:`]+):(?:\s+|$)(.*)$/.exec(rest);
  if (!head) {
    const named = /^([^:`]+):(?:\s|$)/.exec(rest);
    if (named) throw new TaskListError(no, `${JSON.stringify(named[1]!.trim())} is not a task id; ids are ${ID_HINT}, e.g. "${EXAMPLE}"`);
    throw new TaskListError(no, `expected "<id>: <description>" after the checkbox, e.g. "${EXAMPLE}"`);
  }
  const id = head[1]!;
  if (!TASK_ID_RE.test(id)) throw new TaskListError(no, `${JSON.stringify(id)} is not a task id; ids are ${ID_HINT}`);
  const title = parseTitle(head[2]!, no);
  const deps = [...title.deps];
  const bodyCommands: { command: string; line: number; what: string }[] = [];

  let j = at + 1;
  while (j < lines.length) {
    const line = lines[j]!;
    if (isBlank(line)) {
      j++;
      continue;
    }
    if (indentOf(line) <= bulletIndent) break;
    const lineNo = j + 1;
    const fence = fenceOpen(line);
    if (fence) {
      const fenceIndent = indentOf(line);
      let k = j + 1;
      while (k < lines.length && !fenceCloses(lines[k]!, fence)) k++;
      if (k >= lines.length) throw new TaskListError(lineNo, `code block of task "${id}" is not closed; end it with ${fence.char.repeat(fence.length)}`);
      const script = lines
        .slice(j + 1, k)
        .map((l) => dedent(l, fenceIndent))
        .join("\n")
        .replace(/^\s*\n|\s+$/g, "");
      if (script.trim() === "") throw new TaskListError(lineNo, `code block of task "${id}" is empty; put the command in it`);
      bodyCommands.push({ command: script, line: lineNo, what: "a code block" });
      j = k + 1;
      continue;
    }
    if (TASK_RE.test(line) || TASKISH_RE.test(line)) {
      throw new TaskListError(lineNo, `a task inside task "${id}" (line ${no}); tasks do not nest: outdent it to the level of "${id}"`);
    }
    const key = KEY_RE.exec(line.trim());
    if (!key) {
      throw new TaskListError(
        lineNo,
        `unexpected text in task "${id}" (line ${no}); an indented line under a task must be "cmd: <command>", "after: <ids>", "depends: <ids>" or a fenced code block`,
      );
    }
    const name = key[1]!.toLowerCase();
    const value = key[2]!.trim();
    if (name === "cmd") {
      if (value === "") throw new TaskListError(lineNo, `"cmd:" of task "${id}" is empty; write the command after it`);
      const parts = spans(value, lineNo);
      // `cmd: `make`` is the same command as `cmd: make`.
      const command = parts.length === 1 && parts[0]!.code ? parts[0]!.text : value;
      bodyCommands.push({ command, line: lineNo, what: '"cmd:"' });
    } else {
      for (const dep of idList(value, lineNo, `"${name}:"`)) deps.push({ id: dep, line: lineNo });
    }
    j++;
  }

  let command: string | null;
  let description: string;
  if (bodyCommands.length > 1) {
    const [a, b] = bodyCommands;
    throw new TaskListError(b!.line, `task "${id}" already has a command (${a!.what} on line ${a!.line}); give one command per task`);
  }
  if (bodyCommands.length === 1) {
    command = bodyCommands[0]!.command;
    description = title.descriptionWithCode;
  } else if (title.codes.length === 1) {
    command = title.codes[0]!.text;
    description = title.description;
  } else if (title.codes.length > 1) {
    throw new TaskListError(
      no,
      `task "${id}" has ${title.codes.length} inline code spans, so which one is the command is unclear; put the command on an indented "cmd: ..." line`,
    );
  } else {
    command = null;
    description = title.description;
  }
  if (command !== null && command.trim() === "") throw new TaskListError(no, `task "${id}" has an empty command`);
  if (command === null && !done) {
    throw new TaskListError(
      no,
      `task "${id}" has no command; write it as inline code in the item (\`make site\`), on an indented "cmd: make site" line, or in an indented fenced code block`,
    );
  }
  if (description === "") description = command === null ? "" : firstLine(command);
  return {
    draft: {
      task: { id, description, command, done, priority: title.priority ?? sectionPriority ?? "normal", dependsOn: [], line: no },
      deps,
    },
    next: j,
  };
}

function firstLine(command: string): string {
  const lines = command.trim().split("\n");
  return lines.length > 1 ? `${lines[0]!.trim()} …` : lines[0]!.trim();
}

function finish(drafts: Draft[]): Task[] {
  if (drafts.length === 0) throw new TaskListError(null, `no tasks found; a task is a list item like "${EXAMPLE}"`);
  const byId = new Map<string, Draft>();
  for (const d of drafts) {
    const seen = byId.get(d.task.id);
    if (seen) throw new TaskListError(d.task.line, `task id "${d.task.id}" is already used on line ${seen.task.line}; ids must be unique in a list`);
    byId.set(d.task.id, d);
  }
  for (const d of drafts) {
    for (const dep of d.deps) {
      if (!byId.has(dep.id)) throw new TaskListError(dep.line, `task "${d.task.id}" depends on "${dep.id}", which is not a task in this list`);
      if (!d.task.dependsOn.includes(dep.id)) d.task.dependsOn.push(dep.id);
    }
  }
  const state = new Map<string, "visiting" | "done">();
  const visit = (d: Draft, path: string[]): void => {
    const s = state.get(d.task.id);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(d.task.id)), d.task.id];
      throw new TaskListError(d.task.line, `dependency cycle: ${cycle.join(" -> ")}`);
    }
    state.set(d.task.id, "visiting");
    for (const dep of d.task.dependsOn) visit(byId.get(dep)!, [...path, d.task.id]);
    state.set(d.task.id, "done");
  };
  for (const d of drafts) visit(d, []);
  return drafts.map((d) => d.task);
}
