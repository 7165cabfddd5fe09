// The parts of a job's page that show what the job is: its details, its command or payload, its
// attempts, and the jobs it is linked to (dependencies, escalation chain).
import { ago, elapsed } from "../lib/clock.js";
import { h } from "../lib/dom.js";
import { fmtDuration, fmtJson, fmtTime, toMs } from "../lib/format.js";
import { commandText, shortId } from "../lib/job-text.js";
import { jobHref } from "../lib/routes.js";
import { badge } from "../lib/widgets.js";

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function timeRows(job) {
  const started = toMs(job.startedAt);
  const finished = toMs(job.finishedAt);
  const lines = [row("Added", fmtTime(job.createdAt), " (", ago(job.createdAt), ")")];
  if (job.status === "scheduled") lines.push(row("Runs at", fmtTime(job.runAt), " (", ago(job.runAt), ")"));
  if (started !== null) lines.push(row("Started", fmtTime(started)));
  if (finished !== null) lines.push(row("Finished", fmtTime(finished)));
  if (job.status === "running" && started !== null) lines.push(row("Running for", elapsed(started)));
  else if (started !== null && finished !== null) lines.push(row("Duration", fmtDuration(finished - started)));
  return lines;
}

/** The "Details" list's <dt>/<dd> pairs, flat. */
export function detailItems(job) {
  const lines = [
    row("Status", badge(job.status), job.reason ? h("span", { class: "muted" }, ` ${job.reason}`) : null),
    row("Queue", job.queue),
    row("Priority", job.priority),
    row("Attempts", `${job.attempts} of ${job.maxAttempts}`),
    row("Exit code", job.exitCode === null ? "–" : String(job.exitCode)),
    ...timeRows(job),
  ];
  if (job.target) lines.push(row("Target", job.target));
  if (job.key) lines.push(row("Key", h("code", {}, job.key)));
  const labels = Object.entries(job.labels ?? {});
  if (labels.length) lines.push(row("Labels", labels.map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))));
  if (job.cwd) lines.push(row("Directory", h("code", {}, job.cwd)));
  if (job.kind === "shell" && job.result && typeof job.result === "object") {
    if (job.result.signal) lines.push(row("Signal", String(job.result.signal)));
    if (job.result.logPath) lines.push(row("Log file", h("code", {}, String(job.result.logPath))));
  }
  if (Array.isArray(job.env) && job.env.length) lines.push(row("Environment", h("span", { title: job.env.join(" ") }, `${job.env.length} variables captured`)));
  return lines.flat();
}

/** The command (a shell job) or kind and payload (any other), then its error and result. */
export function commandParts(job) {
  const cmd = commandText(job);
  const parts = [h("div", { class: "card-head" }, h("h2", {}, cmd !== null ? "Command" : "Payload"))];
  if (cmd !== null) parts.push(h("pre", { class: "command", "data-testid": "job-command" }, cmd));
  else parts.push(h("p", { class: "muted" }, "kind ", h("code", {}, job.kind)), h("pre", { class: "command", "data-testid": "job-command" }, fmtJson(job.payload ?? null)));
  if (job.error) parts.push(h("h3", {}, "Error"), h("pre", { class: "error-text", "data-testid": "job-error" }, job.error));
  // A shell job's result repeats the log's tail and the exit code shown above.
  if (job.result !== null && job.result !== undefined && job.kind !== "shell") parts.push(h("h3", {}, "Result"), h("pre", { class: "command", "data-testid": "job-result" }, fmtJson(job.result)));
  return parts;
}

/** One row per ended attempt; pick(n) shows attempt n's output. */
export function attemptRows(attempts, pick) {
  return attempts.map((a) =>
    h(
      "tr",
      { "data-testid": `attempt-row-${a.attempt}`, "data-outcome": a.outcome },
      h("td", { class: "num" }, String(a.attempt)),
      h("td", {}, badge(a.outcome)),
      h("td", { class: `num ${a.exitCode ? "bad" : ""}` }, a.exitCode === null ? "–" : String(a.exitCode)),
      h("td", {}, fmtTime(a.startedAt)),
      h("td", { class: "num" }, fmtDuration(a.finishedAt - a.startedAt)),
      h("td", {}, a.workerId ? h("code", { title: a.workerId }, a.workerId.length > 18 ? `${a.workerId.slice(0, 18)}…` : a.workerId) : "–"),
      h("td", { class: "error-cell" }, a.error ?? ""),
      h("td", {}, h("button", { type: "button", class: "small link", "data-action": "show-log", on: { click: () => pick(a.attempt) } }, "output")),
    ),
  );
}

function dependencyList(job, dependencies) {
  const byId = new Map(dependencies.map((d) => [d.id, d]));
  return h(
    "ul",
    { class: "dep-list", "data-testid": "job-dependencies" },
    job.dependsOn.map((depId) => {
      const d = byId.get(depId);
      return h("li", {}, h("a", { href: jobHref(depId) }, d?.name || shortId(depId)), " ", d ? badge(d.status) : h("span", { class: "muted" }, "(pruned)"));
    }),
  );
}

function chainList(job, chain) {
  return h(
    "ol",
    { class: "chain", "data-testid": "job-chain" },
    chain.map((c) => {
      const here = c.id === job.id;
      const what = `${c.kind} on ${c.queue}`;
      return h("li", { class: here ? "here" : "" }, here ? h("strong", {}, what) : h("a", { href: jobHref(c.id) }, what), " ", badge(c.status));
    }),
  );
}

/** What the job waits on, and the jobs it escalated from or to. */
export function linkParts(job, dependencies, chain) {
  const parts = [];
  if (job.dependsOn.length) parts.push(h("h3", {}, "Depends on"), dependencyList(job, dependencies));
  if (chain.length > 1) parts.push(h("h3", {}, "Escalation chain"), chainList(job, chain));
  return parts;
}
