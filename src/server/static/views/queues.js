// The queues card: one row per queue with its state, concurrency, counts per status and buttons.
// Rows are kept and filled in place, so an edit in a concurrency box survives a refresh.
import { listQueues, setConcurrency, steerQueue } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { fmtCount, fmtDuration } from "../lib/format.js";
import { coalesce } from "../lib/schedule.js";
import { act, toast } from "../lib/toast.js";
import { JOB_STATUSES, QUEUE_ACTIONS } from "../lib/vocabulary.js";
import { card, tableWrap } from "../lib/widgets.js";

function queueHead() {
  return h(
    "thead",
    {},
    h(
      "tr",
      {},
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col" }, "State"),
      h("th", { scope: "col", title: "Jobs at once across every worker; empty: no limit" }, "Concurrency"),
      JOB_STATUSES.map((st) => h("th", { scope: "col", class: `num count-head status-text-${st}` }, st)),
      h("th", { scope: "col", class: "num", title: "Median and 95th percentile of recent completions" }, "p50 / p95"),
      h("th", { scope: "col", class: "num", title: "Completed in the last minute" }, "/min"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    ),
  );
}

function concurrencyInput(name, changed) {
  const conc = h("input", {
    type: "number",
    min: "1",
    step: "1",
    inputmode: "numeric",
    placeholder: "∞",
    class: "concurrency",
    "aria-label": `Concurrency of ${name}`,
    "data-testid": `queue-concurrency-${name}`,
  });
  conc.addEventListener("change", () => {
    const v = conc.value.trim();
    const concurrency = v === "" ? null : Number(v);
    if (concurrency !== null && (!Number.isInteger(concurrency) || concurrency < 1)) {
      toast("Concurrency is a whole number from 1, or empty for no limit");
      return;
    }
    act(conc, () => setConcurrency(name, concurrency), `${name}: concurrency ${concurrency ?? "unlimited"}`).then(changed);
  });
  return conc;
}

function actionButtons(name, changed) {
  return QUEUE_ACTIONS.map(({ action, becomes, title }) =>
    h(
      "button",
      {
        type: "button",
        class: `small ${action === "stop" ? "danger" : ""}`,
        "data-action": action,
        title,
        on: { click: (e) => act(e.currentTarget, () => steerQueue(name, action), `${name}: ${becomes}`).then(changed) },
      },
      action,
    ),
  );
}

/** A queue's row, its cells kept by name for filling. */
function queueRow(name, { changed, showJobs }) {
  const state = h("span", { class: "badge" });
  const conc = concurrencyInput(name, changed);
  const counts = Object.fromEntries(JOB_STATUSES.map((st) => [st, h("td", { class: "num", "data-count": st })]));
  const p = h("td", { class: "num" });
  const perMin = h("td", { class: "num" });
  const buttons = actionButtons(name, changed);
  const tr = h(
    "tr",
    { "data-testid": `queue-row-${name}`, "data-queue": name },
    h("th", { scope: "row" }, h("button", { type: "button", class: "link", title: `Show the jobs of ${name}`, on: { click: () => showJobs({ queue: name, statuses: new Set() }) } }, name)),
    h("td", {}, state),
    h("td", {}, conc),
    JOB_STATUSES.map((st) => counts[st]),
    p,
    perMin,
    h("td", { class: "actions" }, buttons),
  );
  return { tr, state, conc, counts, p, perMin, buttons, sig: "" };
}

function fillCount(cell, queue, status, n, showJobs) {
  cell.dataset.n = String(n);
  if (n === 0) cell.replaceChildren(h("span", { class: "zero" }, "0"));
  else
    cell.replaceChildren(
      h("button", { type: "button", class: `link count status-text-${status}`, title: `Show ${status} jobs of ${queue}`, on: { click: () => showJobs({ queue, statuses: new Set([status]) }) } }, fmtCount(n)),
    );
}

function fillQueueRow(row, q, showJobs) {
  const sig = JSON.stringify(q);
  if (sig === row.sig) return;
  row.sig = sig;
  row.tr.dataset.state = q.state;
  row.state.textContent = q.state;
  row.state.className = `badge state-${q.state}`;
  if (document.activeElement !== row.conc) row.conc.value = q.concurrency === null ? "" : String(q.concurrency);
  for (const st of JOB_STATUSES) fillCount(row.counts[st], q.queue, st, q.counts?.[st] ?? 0, showJobs);
  row.p.textContent = q.durationP50Ms === null && q.durationP95Ms === null ? "–" : `${fmtDuration(q.durationP50Ms)} / ${fmtDuration(q.durationP95Ms)}`;
  row.perMin.textContent = fmtCount(q.completedLastMinute ?? 0);
  for (const b of row.buttons) b.disabled = !QUEUE_ACTIONS.find((a) => a.action === b.dataset.action).from.includes(q.state);
}

/**
 * The card. showJobs(filter) lists a queue's jobs below; onQueues(list) hears every fresh list
 * (the job filter offers the queue names).
 */
export function queuesSection({ showJobs, onQueues }) {
  let stopped = false;
  const body = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, "No queues yet. Add a job (runway add -- echo hello) and its queue appears here.");
  const table = h("table", { class: "queues", "data-testid": "queues-table" }, queueHead(), body);
  const rows = new Map();
  const hooks = { changed: () => refresh(), showJobs };

  function render(queues) {
    const seen = new Set();
    for (const q of queues) {
      seen.add(q.queue);
      let row = rows.get(q.queue);
      if (!row) rows.set(q.queue, (row = queueRow(q.queue, hooks)));
      fillQueueRow(row, q, showJobs);
      body.append(row.tr);
    }
    for (const [name, row] of rows) {
      if (seen.has(name)) continue;
      row.tr.remove();
      rows.delete(name);
    }
    empty.hidden = queues.length > 0;
    table.hidden = queues.length === 0;
  }

  async function load() {
    const r = await listQueues();
    if (stopped) return;
    render(r.queues);
    onQueues(r.queues);
  }
  const refresh = coalesce(load, 200, 800);

  return {
    element: card("queues", "Queues", tableWrap(table), empty),
    load,
    refresh,
    leave() {
      stopped = true;
      refresh.cancel();
    },
  };
}
