// One row of the jobs table: what it is, where it stands, and the buttons its status allows.
import { steerJob } from "../lib/api.js";
import { ago, elapsed } from "../lib/clock.js";
import { h } from "../lib/dom.js";
import { fmtDuration, fmtTime, toMs } from "../lib/format.js";
import { canCancel, canMove, canRetry, canSkip } from "../lib/job-actions.js";
import { commandText, jobTitle, shortId } from "../lib/job-text.js";
import { jobHref } from "../lib/routes.js";
import { act } from "../lib/toast.js";
import { badge } from "../lib/widgets.js";

export function jobsHead() {
  return h(
    "thead",
    {},
    h(
      "tr",
      {},
      h("th", { scope: "col" }, "Job"),
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Priority"),
      h("th", { scope: "col", class: "num" }, "Attempts"),
      h("th", { scope: "col", class: "num" }, "Exit"),
      h("th", { scope: "col" }, "Added"),
      h("th", { scope: "col", class: "num" }, "Time"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    ),
  );
}

/** changed() runs after each button's request, refused or not: the row may be stale either way. */
function jobActions(job, changed) {
  const out = [];
  const button = (action, label, title, fn, cls = "") =>
    h(
      "button",
      { type: "button", class: `small ${cls}`, "data-action": action, title, "aria-label": `${title}: ${jobTitle(job)}`, on: { click: (e) => act(e.currentTarget, fn).then(changed) } },
      label,
    );
  const post = (action, body) => () => steerJob(job.id, action, body);
  if (canMove(job)) {
    out.push(button("up", "↑", "Move up: before the waiting job ahead of it", post("move", { to: "up" })));
    out.push(button("down", "↓", "Move down: after the waiting job behind it", post("move", { to: "down" })));
  }
  if (canSkip(job)) out.push(button("skip", "skip", "End it skipped; its dependents are skipped too", post("skip")));
  if (canCancel(job)) out.push(button("cancel", "cancel", job.status === "running" ? "Stop it; it ends cancelled" : "End it cancelled", post("cancel"), "danger"));
  if (canRetry(job)) out.push(button("retry", "retry", "Put it back in its queue with fresh attempts", post("retry")));
  return out;
}

function timeCell(job) {
  const started = toMs(job.startedAt);
  const finished = toMs(job.finishedAt);
  if (job.status === "running" && started !== null) return elapsed(started, { class: "running-time" });
  if (finished !== null && started !== null) return fmtDuration(finished - started);
  if (job.status === "scheduled") return h("span", { title: `runs at ${fmtTime(job.runAt)}` }, ago(job.runAt));
  if (job.status === "blocked") return h("span", { class: "muted" }, `waits on ${job.dependsOn.length}`);
  return h("span", { class: "muted" }, "–");
}

function jobCell(job) {
  const cmd = commandText(job);
  const title = jobTitle(job);
  const sub = [h("code", { class: "id", title: job.id }, shortId(job.id))];
  if (job.name && cmd) sub.push(h("span", { class: "cmd", title: cmd }, cmd));
  else if (!cmd) sub.push(h("span", { class: "kind" }, job.kind));
  if (job.target) sub.push(h("span", { class: "target" }, `on ${job.target}`));
  return h("td", { class: "job-cell" }, h("a", { href: jobHref(job.id), class: "job-link", title }, title), h("div", { class: "sub" }, sub));
}

export function fillJobRow(tr, job, changed) {
  tr.dataset.status = job.status;
  const status = badge(job.status);
  if (job.error) status.title = job.error;
  else if (job.reason) status.title = job.reason;
  tr.replaceChildren(
    jobCell(job),
    h("td", {}, job.queue),
    h("td", {}, status),
    h("td", {}, h("span", { class: `prio prio-${job.priority}` }, job.priority)),
    h("td", { class: "num" }, `${job.attempts}/${job.maxAttempts}`),
    h("td", { class: `num ${job.exitCode ? "bad" : ""}` }, job.exitCode === null ? "–" : String(job.exitCode)),
    h("td", {}, ago(job.createdAt)),
    h("td", { class: "num" }, timeCell(job)),
    h("td", { class: "actions" }, jobActions(job, changed)),
  );
}
