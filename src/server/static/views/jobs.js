// The jobs card: the filter form, the table, and "Show more". Rows are kept by id and refilled
// only when their job changed, so a refresh does not flicker or lose a hovered button.
import { listJobs } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { coalesce } from "../lib/schedule.js";
import { toast } from "../lib/toast.js";
import { card, tableWrap } from "../lib/widgets.js";
import { jobFilters } from "./job-filters.js";
import { fillJobRow, jobsHead } from "./job-row.js";

const PAGE = 50;

function listQuery(filters, limit, after) {
  const q = new URLSearchParams();
  if (filters.queue) q.set("queue", filters.queue);
  if (filters.statuses.size) q.set("status", [...filters.statuses].join(","));
  if (filters.search) q.set("search", filters.search);
  q.set("order", filters.order);
  q.set("limit", String(limit));
  if (after) q.set("after", after);
  return q.toString();
}

/** The table's rows for a list of jobs: kept, refilled, added and removed as the list says. */
function jobRows(body, changed) {
  const rows = new Map();
  return (jobs) => {
    const seen = new Set();
    for (const job of jobs) {
      seen.add(job.id);
      let row = rows.get(job.id);
      const sig = JSON.stringify(job);
      if (!row) rows.set(job.id, (row = { tr: h("tr", { "data-testid": `job-row-${job.id}`, "data-id": job.id }), sig: "" }));
      if (row.sig !== sig) {
        row.sig = sig;
        fillJobRow(row.tr, job, changed);
      }
      body.append(row.tr);
    }
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      row.tr.remove();
      rows.delete(id);
    }
  };
}

export function jobsSection(query) {
  let stopped = false;
  let jobs = [];
  let next = null;
  /** How many rows the user has asked to see: "Show more" raises it, a new filter resets it. */
  let want = PAGE;
  /** Counts loads, so an answer to an older filter is dropped. */
  let generation = 0;
  const form = jobFilters(query, () => {
    want = PAGE;
    refresh(true);
  });
  const body = h("tbody");
  const empty = h("p", { class: "empty", hidden: true, "data-testid": "jobs-empty" }, "No jobs match.");
  const table = h("table", { class: "jobs", "data-testid": "jobs-table" }, jobsHead(), body);
  const count = h("span", { class: "muted", "data-testid": "jobs-count" });
  const moreButton = h("button", { type: "button", class: "more", "data-testid": "jobs-more", hidden: true, on: { click: () => more() } }, "Show more");
  const renderRows = jobRows(body, () => refresh(true));

  function render() {
    renderRows(jobs);
    empty.hidden = jobs.length > 0;
    table.hidden = jobs.length === 0;
    moreButton.hidden = next === null;
    count.textContent = jobs.length === 0 ? "" : `${jobs.length.toLocaleString()} shown${next ? ", more below" : ""}`;
  }

  /** The rows shown are fetched again as a whole: statuses change, and rows move in and out of a filter. */
  async function load() {
    const gen = ++generation;
    const got = [];
    let cursor = null;
    let last = null;
    do {
      const r = await listJobs(listQuery(form.filters, Math.min(500, want - got.length), cursor));
      if (gen !== generation || stopped) return;
      got.push(...r.jobs);
      last = r.next;
      cursor = r.next;
    } while (cursor && got.length < want);
    jobs = got;
    next = last;
    render();
  }
  const refresh = coalesce(load, 250, 1000);

  async function more() {
    if (!next) return;
    moreButton.disabled = true;
    try {
      const r = await listJobs(listQuery(form.filters, PAGE, next));
      const known = new Set(jobs.map((j) => j.id));
      jobs = jobs.concat(r.jobs.filter((j) => !known.has(j.id)));
      next = r.next;
      want = jobs.length;
      render();
    } catch (e) {
      toast(e.message);
    } finally {
      moreButton.disabled = false;
    }
  }

  return {
    element: card("jobs", "Jobs", form.element, tableWrap(table), empty, h("div", { class: "table-foot" }, count, moreButton)),
    load,
    refresh,
    setQueueNames: form.setQueueNames,
    /** Shows the jobs the change selects, and scrolls to them. */
    show(change) {
      form.set(change);
      document.getElementById("jobs")?.scrollIntoView({ behavior: "smooth", block: "start" });
    },
    leave() {
      stopped = true;
      refresh.cancel();
      form.leave();
    },
  };
}
