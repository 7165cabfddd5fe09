// A job's page (#/jobs/<id>): its head with the buttons its status allows, details, command,
// output and attempts. It follows events about the job and the jobs linked to it.
import { getJob, steerJob } from "../lib/api.js";
import { clear, h } from "../lib/dom.js";
import { canCancel, canMove, canRetry, canSkip } from "../lib/job-actions.js";
import { jobTitle } from "../lib/job-text.js";
import { overviewHref, queueHref } from "../lib/routes.js";
import { coalesce, everyWhileVisible } from "../lib/schedule.js";
import { act, toast } from "../lib/toast.js";
import { badge, plainHead, tableWrap } from "../lib/widgets.js";
import { attemptRows, commandParts, detailItems, linkParts } from "./job-details.js";
import { jobLog } from "./job-log.js";

const MOVES = [
  ["top", "to top"],
  ["up", "up"],
  ["down", "down"],
  ["bottom", "to bottom"],
];

/** changed(r) runs after each button's request with its answer (null when refused). */
function actionButtons(job, changed) {
  const button = (action, label, fn, cls = "") => h("button", { type: "button", class: cls, "data-action": action, on: { click: (e) => act(e.currentTarget, fn).then(changed) } }, label);
  const post = (action, body) => () => steerJob(job.id, action, body);
  const out = [];
  if (canMove(job)) for (const [to, label] of MOVES) out.push(button(to, label, post("move", { to })));
  if (canSkip(job)) out.push(button("skip", "skip", post("skip")));
  if (canCancel(job)) out.push(button("cancel", "cancel", post("cancel"), "danger"));
  if (canRetry(job)) out.push(button("retry", "retry", post("retry")));
  return out;
}

function headParts(job, changed) {
  return [
    h("a", { href: overviewHref(), class: "back" }, "← all jobs"),
    h("div", { class: "title-row" }, h("h1", { "data-testid": "job-title" }, jobTitle(job)), badge(job.status, { "data-testid": "job-status" })),
    h("p", { class: "muted" }, h("code", {}, job.id), ` · ${job.kind} on `, h("a", { href: queueHref(job.queue) }, job.queue)),
    h("div", { class: "actions", "data-testid": "job-actions" }, actionButtons(job, changed)),
  ];
}

function missing(id) {
  return h("section", { class: "card", "data-testid": "job-missing" }, h("a", { href: "#/", class: "back" }, "← all jobs"), h("h1", {}, "No such job"), h("p", {}, `There is no job ${id}; it may have been pruned.`));
}

/** The page's cards, empty until the job is fetched. */
function layout(main, id, log) {
  const parts = {
    head: h("div", { class: "job-head" }),
    details: h("dl", { class: "details", "data-testid": "job-details" }),
    commandBox: h("div", { class: "command-box" }),
    links: h("div", { class: "links" }),
    attemptsBody: h("tbody"),
    attemptsEmpty: h("p", { class: "empty" }, "No attempt has ended yet."),
  };
  parts.attemptsTable = h("table", { "data-testid": "job-attempts" }, plainHead(["#", "Outcome", "Exit", "Started", "Duration", "Worker", "Error", ""]), parts.attemptsBody);
  main.append(
    h("section", { class: "card", "data-testid": "job-view", "data-job": id }, parts.head),
    h("div", { class: "grid" }, h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Details")), parts.details), h("section", { class: "card" }, parts.commandBox, parts.links)),
    log.element,
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Attempts")), tableWrap(parts.attemptsTable), parts.attemptsEmpty),
  );
  return parts;
}

export function jobView(main, id) {
  let stopped = false;
  let job = null;
  /** Dependencies and the escalation chain: their events change what this page shows. */
  let related = new Set();
  const log = jobLog(id, () => job);
  const parts = layout(main, id, log);

  function render(r) {
    parts.head.replaceChildren(...headParts(job, (answer) => answer && refresh(true)));
    document.title = `${jobTitle(job)} · runway`;
    parts.details.replaceChildren(...detailItems(job));
    parts.commandBox.replaceChildren(...commandParts(job));
    clear(parts.attemptsBody).append(...attemptRows(r.attempts, (n) => log.show(n, n === job.attempt)));
    parts.attemptsEmpty.hidden = r.attempts.length > 0;
    parts.attemptsTable.hidden = r.attempts.length === 0;
    parts.links.replaceChildren(...linkParts(job, r.dependencies, r.chain));
  }

  async function load() {
    let r;
    try {
      r = await getJob(id);
    } catch (e) {
      if (stopped) return;
      if (e.status !== 404) throw e;
      main.replaceChildren(missing(id));
      stopped = true;
      return;
    }
    if (stopped) return;
    const before = job;
    job = r.job;
    related = new Set([...r.dependencies.map((d) => d.id), ...r.chain.map((c) => c.id)]);
    render(r);
    log.jobChanged(before, job);
  }
  const refresh = coalesce(load, 150, 600);
  const stopSafety = everyWhileVisible(10_000, () => refresh());
  load().catch((e) => toast(e.message));

  return {
    refresh,
    onEvent(type, data) {
      // A log line is in the file already: reading by offset now shows it at once, and only once.
      if (type === "log") {
        if (data.jobId === id) log.logged(data.attempt);
        return;
      }
      const other = data.job?.id;
      if (other === id || (other && related.has(other)) || (other && job?.escalatedTo === other)) refresh();
    },
    leave() {
      stopped = true;
      refresh.cancel();
      log.leave();
      stopSafety();
      document.title = "runway";
    },
  };
}
