// The runway dashboard. No build step and no framework: the server's CSP allows only this file
// and app.css, so every element is made with DOM calls, styled by class, and every piece of data
// reaches the page through textContent or attributes, never as markup.

const STATUSES = ["queued", "scheduled", "blocked", "running", "completed", "failed", "cancelled", "skipped"];
const WAITING = new Set(["queued", "scheduled", "blocked"]);
const CANCELLABLE = new Set(["queued", "scheduled", "blocked", "running"]);
const REQUEUABLE = new Set(["failed", "cancelled", "skipped"]);
const PAGE = 50;
/** The most of a log kept on the page: a chatty job must not make the tab crawl. */
const MAX_LOG_CHARS = 1_000_000;
const MAX_LOG_BYTES = 512 * 1024;

// ---------- DOM ----------

function setProps(el, props) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "on") for (const [type, fn] of Object.entries(v)) el.addEventListener(type, fn);
    else if (k === "style") throw new Error("inline styles are refused by the CSP: use a class");
    else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  return append(el, children);
}

function clear(el) {
  el.replaceChildren();
  return el;
}

// ---------- formatting ----------

function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} m ${Math.floor(sec % 60)} s`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h ${min % 60} m`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function toMs(t) {
  if (t === null || t === undefined) return null;
  return typeof t === "number" ? t : Date.parse(t);
}

function fmtAgo(t, now = Date.now()) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return "–";
  const d = now - ms;
  const abs = Math.abs(d);
  let text;
  if (abs < 5_000) return d >= 0 ? "just now" : "now";
  if (abs < 60_000) text = `${Math.round(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 172_800_000) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / 86_400_000)} d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

function fmtTime(t) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return "–";
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function fmtCount(n) {
  return typeof n === "number" ? n.toLocaleString() : "–";
}

/** Mirrors commandText in src/core/job-view.ts, so a command reads the same as in the CLI. */
function commandText(job) {
  if (typeof job.shell === "string") return job.shell;
  if (Array.isArray(job.command)) return job.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
  return null;
}

function jobTitle(job) {
  return job.name || commandText(job) || job.kind;
}

function shortId(id) {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

function json(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

const jobHref = (id) => `#/jobs/${encodeURIComponent(id)}`;
const enc = encodeURIComponent;

function badge(status, extra = {}) {
  return h("span", { class: `badge status-${status}`, "data-status": status, ...extra }, status);
}

// ---------- talking to the server ----------

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = "GET", body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("the server cannot be reached", 0, "network");
  }
  const data = await res.json().catch(() => null);
  if (res.status === 401) {
    // The token cookie is gone or wrong: the login page sets a new one.
    location.assign("/login");
    throw new ApiError("sign in again", 401, "unauthorized");
  }
  if (!res.ok) throw new ApiError(data?.error?.message ?? `${res.status} ${res.statusText}`, res.status, data?.error?.code);
  return data;
}

// ---------- toasts ----------

const recentToasts = new Map();

function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  const el = h(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": "toast", "data-kind": kind },
    h("span", { class: "toast-text" }, message),
  );
  el.append(h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", on: { click: () => el.remove() } }, "×"));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === "error" ? 10_000 : 4_000);
}

/** Background refreshes fail the same way many times over: one toast per message and quarter minute. */
function toastOnce(message) {
  const last = recentToasts.get(message) ?? 0;
  if (Date.now() - last < 15_000) return;
  recentToasts.set(message, Date.now());
  toast(message);
}

/** Runs a change the user asked for; its error is theirs to see. */
async function act(button, fn, done) {
  if (button) button.disabled = true;
  try {
    const r = await fn();
    if (done) toast(typeof done === "function" ? done(r) : done, "info");
    return r;
  } catch (e) {
    toast(e.message || String(e));
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------- refresh scheduling ----------

/**
 * Runs fn after `wait` ms of quiet, but at least every `maxWait` ms under a steady stream of
 * triggers, and never twice at once: events arrive in bursts and one fetch answers them all.
 */
function coalesce(fn, wait = 250, maxWait = 1000) {
  let timer = null;
  let first = 0;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    first = 0;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (e) {
      toastOnce(e.message || String(e));
    } finally {
      running = false;
      if (again) {
        again = false;
        trigger();
      }
    }
  };
  const trigger = (now = false) => {
    clearTimeout(timer);
    if (now) return void run();
    const t = Date.now();
    if (!first) first = t;
    timer = setTimeout(run, Math.max(0, Math.min(wait, first + maxWait - t)));
  };
  trigger.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return trigger;
}

// ---------- live clock: elapsed times and "ago" labels ----------

setInterval(() => {
  if (document.hidden) return;
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-since]")) el.textContent = fmtDuration(now - Number(el.dataset.since));
  for (const el of document.querySelectorAll("[data-ago]")) el.textContent = fmtAgo(Number(el.dataset.ago), now);
}, 1000);

function ago(t) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return h("span", { class: "muted" }, "–");
  return h("time", { "data-ago": ms, datetime: new Date(ms).toISOString(), title: fmtTime(ms) }, fmtAgo(ms));
}

// ---------- the event stream ----------

const live = document.querySelector("[data-testid=live-status]");
let current = null;
let source = null;

function setLive(on, text) {
  live.dataset.live = on ? "true" : "false";
  live.textContent = text ?? (on ? "live" : "reconnecting…");
  live.title = on ? "Updates arrive as they happen" : "The event stream is down; retrying";
}

function connect() {
  source = new EventSource("/api/events");
  source.addEventListener("hello", () => {
    setLive(true);
    // Whatever happened while the stream was down is fetched once.
    current?.refresh();
  });
  for (const type of ["added", "started", "progress", "log", "completed", "failed", "cancelled", "skipped", "queue", "drained"]) {
    source.addEventListener(type, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      current?.onEvent(type, data);
    });
  }
  source.addEventListener("error", () => {
    setLive(false);
    // A refused stream (the server restarted elsewhere, a proxy) is not retried by the browser itself.
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 5000);
    }
  });
}

// ---------- router ----------

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const q = hash.indexOf("?");
  const path = q < 0 ? hash : hash.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  return { path, query };
}

let lastOverviewQuery = "";

function route() {
  const { path, query } = parseHash();
  current?.leave();
  const main = document.getElementById("view");
  clear(main);
  const m = /^\/jobs\/([^/]+)$/.exec(path);
  if (m) {
    current = jobView(main, decodeURIComponent(m[1]));
    document.body.dataset.view = "job";
  } else {
    current = overview(main, query);
    document.body.dataset.view = "overview";
  }
  window.scrollTo(0, 0);
}

function navTo(section) {
  const go = () => document.getElementById(section)?.scrollIntoView({ behavior: "smooth", block: "start" });
  if (document.body.dataset.view !== "overview") {
    location.hash = `#/${lastOverviewQuery ? `?${lastOverviewQuery}` : ""}`;
    requestAnimationFrame(go);
  } else go();
}

for (const a of document.querySelectorAll("[data-scroll]")) {
  a.addEventListener("click", (e) => {
    e.preventDefault();
    navTo(a.dataset.scroll);
  });
}

// ---------- overview ----------

function card(id, title, ...body) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` }, h("div", { class: "card-head" }, h("h2", { id: `${id}-title` }, title)), ...body);
}

function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

function overview(main, query) {
  const filters = {
    queue: query.get("queue") ?? "",
    statuses: new Set((query.get("status") ?? "").split(",").filter((x) => STATUSES.includes(x))),
    search: query.get("search") ?? "",
    order: ["queue", "recent", "added", "finished"].includes(query.get("order")) ? query.get("order") : "recent",
  };
  let stopped = false;
  let queues = [];
  let jobs = [];
  let next = null;
  let want = PAGE;
  let generation = 0;
  let timeline = [];

  // Queues
  const queueBody = h("tbody");
  const queueEmpty = h("p", { class: "empty", hidden: true }, "No queues yet. Add a job (runway add -- echo hello) and its queue appears here.");
  const queueTable = h(
    "table",
    { class: "queues", "data-testid": "queues-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Queue"),
        h("th", { scope: "col" }, "State"),
        h("th", { scope: "col", title: "Jobs at once across every worker; empty: no limit" }, "Concurrency"),
        STATUSES.map((st) => h("th", { scope: "col", class: `num count-head status-text-${st}` }, st)),
        h("th", { scope: "col", class: "num", title: "Median and 95th percentile of recent completions" }, "p50 / p95"),
        h("th", { scope: "col", class: "num", title: "Completed in the last minute" }, "/min"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
      ),
    ),
    queueBody,
  );
  const queueRows = new Map();

  // Activity
  const chartBox = h("div", { class: "chart", "data-testid": "throughput-chart" });
  const chartSummary = h("p", { class: "chart-summary muted" });
  const legend = h(
    "ul",
    { class: "legend" },
    h("li", {}, h("span", { class: "swatch completed" }), "completed per minute"),
    h("li", {}, h("span", { class: "swatch failed" }), "failed per minute"),
    h("li", {}, h("span", { class: "swatch mean" }), "mean duration"),
  );

  // Targets and schedules
  const targetBody = h("tbody");
  const targetEmpty = h("p", { class: "empty", hidden: true }, "No remote targets. runway target add lab user@host adds one.");
  const targetTable = h(
    "table",
    { "data-testid": "targets-table" },
    h("thead", {}, h("tr", {}, ["Target", "Reachable", "Host", "Jobs", "Checked"].map((t) => h("th", { scope: "col" }, t)))),
    targetBody,
  );
  const cronBody = h("tbody");
  const cronEmpty = h("p", { class: "empty", hidden: true }, "No cron schedules.");
  const cronTable = h(
    "table",
    { "data-testid": "crons-table" },
    h("thead", {}, h("tr", {}, ["Name", "Pattern", "Queue", "Kind", "Next tick"].map((t) => h("th", { scope: "col" }, t)))),
    cronBody,
  );

  // Jobs
  const queueSelect = h("select", { "data-testid": "filter-queue", "aria-label": "Queue", on: { change: () => setFilter({ queue: queueSelect.value }) } });
  const searchInput = h("input", {
    type: "search",
    placeholder: "Search name or command",
    "aria-label": "Search jobs by name or command",
    "data-testid": "filter-search",
    value: filters.search,
  });
  const searchLater = coalesce(async () => setFilter({ search: searchInput.value.trim() }), 300, 1500);
  searchInput.addEventListener("input", () => searchLater());
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") searchLater(true);
  });
  const orderSelect = h(
    "select",
    { "data-testid": "filter-order", "aria-label": "Order", on: { change: () => setFilter({ order: orderSelect.value }) } },
    [
      ["recent", "Newest first"],
      ["queue", "Queue order"],
      ["added", "Oldest first"],
      ["finished", "By end time"],
    ].map(([v, t]) => h("option", { value: v, selected: filters.order === v }, t)),
  );
  const statusBoxes = STATUSES.map((st) => {
    const box = h("input", { type: "checkbox", value: st, checked: filters.statuses.has(st), "data-testid": `filter-status-${st}` });
    box.addEventListener("change", () => {
      const set = new Set(filters.statuses);
      if (box.checked) set.add(st);
      else set.delete(st);
      setFilter({ statuses: set });
    });
    return h("label", { class: `chip status-${st}` }, box, h("span", {}, st));
  });
  const clearButton = h("button", { type: "button", class: "link", "data-testid": "filter-clear", on: { click: () => setFilter({ queue: "", statuses: new Set(), search: "" }) } }, "clear filters");
  const jobBody = h("tbody");
  const jobEmpty = h("p", { class: "empty", hidden: true, "data-testid": "jobs-empty" }, "No jobs match.");
  const jobTable = h(
    "table",
    { class: "jobs", "data-testid": "jobs-table" },
    h(
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
    ),
    jobBody,
  );
  const jobRows = new Map();
  const jobCount = h("span", { class: "muted", "data-testid": "jobs-count" });
  const moreButton = h("button", { type: "button", class: "more", "data-testid": "jobs-more", hidden: true, on: { click: () => more() } }, "Show more");

  main.append(
    card("queues", "Queues", tableWrap(queueTable), queueEmpty),
    h(
      "div",
      { class: "grid" },
      card("activity", "Last hour", chartBox, legend, chartSummary),
      h("div", { class: "stack" }, card("targets", "Targets", tableWrap(targetTable), targetEmpty), card("crons", "Cron schedules", tableWrap(cronTable), cronEmpty)),
    ),
    card(
      "jobs",
      "Jobs",
      h(
        "form",
        { class: "filters", role: "search", on: { submit: (e) => e.preventDefault() } },
        h("div", { class: "filter-row" }, queueSelect, searchInput, orderSelect, clearButton),
        h("div", { class: "filter-row chips", role: "group", "aria-label": "Statuses" }, statusBoxes),
      ),
      tableWrap(jobTable),
      jobEmpty,
      h("div", { class: "table-foot" }, jobCount, moreButton),
    ),
  );

  function syncHash() {
    const q = new URLSearchParams();
    if (filters.queue) q.set("queue", filters.queue);
    if (filters.statuses.size) q.set("status", [...filters.statuses].join(","));
    if (filters.search) q.set("search", filters.search);
    if (filters.order !== "recent") q.set("order", filters.order);
    lastOverviewQuery = q.toString();
    // replaceState: a filter is not a page of its own for the back button, and no hashchange fires.
    history.replaceState(null, "", `#/${lastOverviewQuery ? `?${lastOverviewQuery}` : ""}`);
  }

  function setFilter(change) {
    Object.assign(filters, change);
    for (const label of statusBoxes) {
      const box = label.querySelector("input");
      box.checked = filters.statuses.has(box.value);
    }
    if (searchInput.value.trim() !== filters.search && document.activeElement !== searchInput) searchInput.value = filters.search;
    orderSelect.value = filters.order;
    fillQueueSelect();
    syncHash();
    want = PAGE;
    refreshJobs(true);
  }

  // ---- queues

  function fillQueueSelect() {
    const names = queues.map((q) => q.queue);
    if (filters.queue && !names.includes(filters.queue)) names.push(filters.queue);
    const have = [...queueSelect.options].map((o) => o.value).join("\n");
    const wantOptions = ["", ...names].join("\n");
    if (have !== wantOptions) {
      clear(queueSelect).append(h("option", { value: "" }, "All queues"), ...names.map((n) => h("option", { value: n }, n)));
    }
    queueSelect.value = filters.queue;
  }

  function queueRow(name) {
    const state = h("span", { class: "badge" });
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
      act(conc, () => api(`/api/queues/${enc(name)}`, { method: "PUT", body: { concurrency } }), `${name}: concurrency ${concurrency ?? "unlimited"}`).then(() => refreshQueues());
    });
    const counts = Object.fromEntries(STATUSES.map((st) => [st, h("td", { class: "num", "data-count": st })]));
    const p = h("td", { class: "num" });
    const perMin = h("td", { class: "num" });
    const buttons = ["pause", "resume", "stop"].map((action) =>
      h(
        "button",
        {
          type: "button",
          class: `small ${action === "stop" ? "danger" : ""}`,
          "data-action": action,
          title: { pause: "No new jobs start; running ones finish", resume: "Start jobs again", stop: "Pause, and put running jobs back in the queue" }[action],
          on: {
            click: (e) =>
              act(e.currentTarget, () => api(`/api/queues/${enc(name)}/${action}`, { method: "POST" }), `${name}: ${{ pause: "paused", resume: "running", stop: "stopped" }[action]}`).then(() =>
                refreshQueues(),
              ),
          },
        },
        action,
      ),
    );
    const tr = h(
      "tr",
      { "data-testid": `queue-row-${name}`, "data-queue": name },
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", title: `Show the jobs of ${name}`, on: { click: () => showJobs({ queue: name, statuses: new Set() }) } }, name)),
      h("td", {}, state),
      h("td", {}, conc),
      STATUSES.map((st) => counts[st]),
      p,
      perMin,
      h("td", { class: "actions" }, buttons),
    );
    return { tr, state, conc, counts, p, perMin, buttons, sig: "" };
  }

  function fillQueueRow(row, q) {
    const sig = JSON.stringify(q);
    if (sig === row.sig) return;
    row.sig = sig;
    row.tr.dataset.state = q.state;
    row.state.textContent = q.state;
    row.state.className = `badge state-${q.state}`;
    if (document.activeElement !== row.conc) row.conc.value = q.concurrency === null ? "" : String(q.concurrency);
    for (const st of STATUSES) {
      const n = q.counts?.[st] ?? 0;
      const cell = row.counts[st];
      cell.dataset.n = String(n);
      if (n === 0) cell.replaceChildren(h("span", { class: "zero" }, "0"));
      else
        cell.replaceChildren(
          h("button", { type: "button", class: `link count status-text-${st}`, title: `Show ${st} jobs of ${q.queue}`, on: { click: () => showJobs({ queue: q.queue, statuses: new Set([st]) }) } }, fmtCount(n)),
        );
    }
    row.p.textContent = q.durationP50Ms === null && q.durationP95Ms === null ? "–" : `${fmtDuration(q.durationP50Ms)} / ${fmtDuration(q.durationP95Ms)}`;
    row.perMin.textContent = fmtCount(q.completedLastMinute ?? 0);
    for (const b of row.buttons) {
      const a = b.dataset.action;
      b.disabled = a === "pause" ? q.state !== "running" : a === "resume" ? q.state === "running" : q.state === "stopped";
    }
  }

  function renderQueues() {
    const seen = new Set();
    for (const q of queues) {
      seen.add(q.queue);
      let row = queueRows.get(q.queue);
      if (!row) {
        row = queueRow(q.queue);
        queueRows.set(q.queue, row);
      }
      fillQueueRow(row, q);
      queueBody.append(row.tr);
    }
    for (const [name, row] of queueRows) {
      if (seen.has(name)) continue;
      row.tr.remove();
      queueRows.delete(name);
    }
    queueEmpty.hidden = queues.length > 0;
    queueTable.hidden = queues.length === 0;
    fillQueueSelect();
  }

  async function loadQueues() {
    const r = await api("/api/queues");
    if (stopped) return;
    queues = r.queues;
    renderQueues();
  }
  const refreshQueues = coalesce(loadQueues, 200, 800);

  function showJobs(change) {
    setFilter(change);
    document.getElementById("jobs")?.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ---- jobs

  function jobActions(job) {
    const out = [];
    const button = (action, label, title, fn, cls = "") =>
      h(
        "button",
        { type: "button", class: `small ${cls}`, "data-action": action, title, "aria-label": `${title}: ${jobTitle(job)}`, on: { click: (e) => act(e.currentTarget, fn).then(() => refreshJobs(true)) } },
        label,
      );
    const post = (path, body) => () => api(`/api/jobs/${enc(job.id)}/${path}`, { method: "POST", ...(body ? { body } : {}) });
    if (WAITING.has(job.status)) {
      out.push(button("up", "↑", "Move up: before the waiting job ahead of it", post("move", { to: "up" })));
      out.push(button("down", "↓", "Move down: after the waiting job behind it", post("move", { to: "down" })));
      out.push(button("skip", "skip", "End it skipped; its dependents are skipped too", post("skip")));
    }
    if (CANCELLABLE.has(job.status)) out.push(button("cancel", "cancel", job.status === "running" ? "Stop it; it ends cancelled" : "End it cancelled", post("cancel"), "danger"));
    if (REQUEUABLE.has(job.status)) out.push(button("retry", "retry", "Put it back in its queue with fresh attempts", post("retry")));
    return out;
  }

  function timeCell(job) {
    const started = toMs(job.startedAt);
    const finished = toMs(job.finishedAt);
    if (job.status === "running" && started !== null) return h("span", { "data-since": started, class: "running-time" }, fmtDuration(Date.now() - started));
    if (finished !== null && started !== null) return fmtDuration(finished - started);
    if (job.status === "scheduled") return h("span", { title: `runs at ${fmtTime(job.runAt)}` }, ago(job.runAt));
    if (job.status === "blocked") return h("span", { class: "muted" }, `waits on ${job.dependsOn.length}`);
    return h("span", { class: "muted" }, "–");
  }

  function fillJobRow(tr, job) {
    tr.dataset.status = job.status;
    const cmd = commandText(job);
    const title = jobTitle(job);
    const sub = [h("code", { class: "id", title: job.id }, shortId(job.id))];
    if (job.name && cmd) sub.push(h("span", { class: "cmd", title: cmd }, cmd));
    else if (!cmd) sub.push(h("span", { class: "kind" }, job.kind));
    if (job.target) sub.push(h("span", { class: "target" }, `on ${job.target}`));
    const status = badge(job.status);
    if (job.error) status.title = job.error;
    else if (job.reason) status.title = job.reason;
    tr.replaceChildren(
      h("td", { class: "job-cell" }, h("a", { href: jobHref(job.id), class: "job-link", title }, title), h("div", { class: "sub" }, sub)),
      h("td", {}, job.queue),
      h("td", {}, status),
      h("td", {}, h("span", { class: `prio prio-${job.priority}` }, job.priority)),
      h("td", { class: "num" }, `${job.attempts}/${job.maxAttempts}`),
      h("td", { class: `num ${job.exitCode ? "bad" : ""}` }, job.exitCode === null ? "–" : String(job.exitCode)),
      h("td", {}, ago(job.createdAt)),
      h("td", { class: "num" }, timeCell(job)),
      h("td", { class: "actions" }, jobActions(job)),
    );
  }

  function renderJobs() {
    const seen = new Set();
    for (const job of jobs) {
      seen.add(job.id);
      let row = jobRows.get(job.id);
      const sig = JSON.stringify(job);
      if (!row) {
        row = { tr: h("tr", { "data-testid": `job-row-${job.id}`, "data-id": job.id }), sig: "" };
        jobRows.set(job.id, row);
      }
      if (row.sig !== sig) {
        row.sig = sig;
        fillJobRow(row.tr, job);
      }
      jobBody.append(row.tr);
    }
    for (const [id, row] of jobRows) {
      if (seen.has(id)) continue;
      row.tr.remove();
      jobRows.delete(id);
    }
    jobEmpty.hidden = jobs.length > 0;
    jobTable.hidden = jobs.length === 0;
    moreButton.hidden = next === null;
    jobCount.textContent = jobs.length === 0 ? "" : `${jobs.length.toLocaleString()} shown${next ? ", more below" : ""}`;
  }

  function jobQuery(limit, after) {
    const q = new URLSearchParams();
    if (filters.queue) q.set("queue", filters.queue);
    if (filters.statuses.size) q.set("status", [...filters.statuses].join(","));
    if (filters.search) q.set("search", filters.search);
    q.set("order", filters.order);
    q.set("limit", String(limit));
    if (after) q.set("after", after);
    return q.toString();
  }

  /** The rows shown are fetched again as a whole: statuses change, and rows move in and out of a filter. */
  async function loadJobs() {
    const gen = ++generation;
    const got = [];
    let cursor = null;
    let more = null;
    do {
      const r = await api(`/api/jobs?${jobQuery(Math.min(500, want - got.length), cursor)}`);
      if (gen !== generation || stopped) return;
      got.push(...r.jobs);
      more = r.next;
      cursor = r.next;
    } while (cursor && got.length < want);
    jobs = got;
    next = more;
    renderJobs();
  }
  const refreshJobs = coalesce(loadJobs, 250, 1000);

  async function more() {
    if (!next) return;
    moreButton.disabled = true;
    try {
      const r = await api(`/api/jobs?${jobQuery(PAGE, next)}`);
      const known = new Set(jobs.map((j) => j.id));
      jobs = jobs.concat(r.jobs.filter((j) => !known.has(j.id)));
      next = r.next;
      want = jobs.length;
      renderJobs();
    } catch (e) {
      toast(e.message);
    } finally {
      moreButton.disabled = false;
    }
  }

  // ---- activity chart

  async function loadStats() {
    const r = await api("/api/stats");
    if (stopped) return;
    timeline = r.timeline;
    setWorkers(r.workers);
    drawChart(chartBox, timeline);
    const completed = timeline.reduce((a, b) => a + b.completed, 0);
    const failed = timeline.reduce((a, b) => a + b.failed, 0);
    chartSummary.textContent = `${completed.toLocaleString()} completed, ${failed.toLocaleString()} failed in the last hour`;
  }
  const refreshStats = coalesce(loadStats, 1000, 3000);
  const resize = new ResizeObserver(() => requestAnimationFrame(() => !stopped && drawChart(chartBox, timeline)));
  resize.observe(chartBox);

  // ---- targets and crons

  async function loadTargets() {
    const r = await api("/api/targets");
    if (stopped) return;
    clear(targetBody);
    for (const t of r.targets) {
      const state = t.reachable === true ? "ok" : t.reachable === false ? "bad" : "unknown";
      const label = t.reachable === true ? "reachable" : t.reachable === false ? "unreachable" : "not checked";
      const c = t.counts ?? {};
      targetBody.append(
        h(
          "tr",
          { "data-testid": `target-row-${t.name}`, "data-reachable": String(t.reachable) },
          h("th", { scope: "row" }, t.name),
          h("td", { class: "reach" }, h("span", { class: `dot ${state}`, "aria-hidden": "true" }), h("span", {}, label), t.message ? h("div", { class: "sub", title: t.message }, t.message) : null),
          h("td", {}, h("code", {}, `${t.host}${t.port ? `:${t.port}` : ""}`), h("div", { class: "sub" }, t.dir)),
          h("td", {}, `${c.running ?? 0} running, ${c.queued ?? 0} queued`, h("div", { class: "sub" }, `limit ${t.concurrency}`)),
          h("td", {}, ago(t.checkedAt)),
        ),
      );
    }
    targetEmpty.hidden = r.targets.length > 0;
    targetTable.hidden = r.targets.length === 0;
  }
  const refreshTargets = coalesce(loadTargets, 0, 0);

  async function loadCrons() {
    const r = await api("/api/crons");
    if (stopped) return;
    clear(cronBody);
    for (const c of r.crons) {
      cronBody.append(
        h(
          "tr",
          { "data-testid": `cron-row-${c.name}` },
          h("th", { scope: "row" }, c.name),
          h("td", {}, h("code", {}, c.pattern), c.timezone ? h("div", { class: "sub" }, c.timezone) : null),
          h("td", {}, c.queue),
          h("td", {}, c.kind),
          h("td", {}, c.nextAt ? ago(c.nextAt) : h("span", { class: "muted" }, "none left")),
        ),
      );
    }
    cronEmpty.hidden = r.crons.length > 0;
    cronTable.hidden = r.crons.length === 0;
  }
  const refreshCrons = coalesce(loadCrons, 0, 0);

  // ---- wiring

  function refresh() {
    refreshQueues();
    refreshJobs();
    refreshStats();
    refreshTargets();
    refreshCrons();
  }

  // Reachability and cron ticks change without job events; the rest is a safety net.
  const slow = setInterval(() => {
    if (document.hidden) return;
    refreshStats();
    refreshTargets();
    refreshCrons();
  }, 15_000);
  const safety = setInterval(() => {
    if (document.hidden) return;
    refreshQueues();
    refreshJobs();
  }, 10_000);

  syncHash();
  fillQueueSelect();
  for (const fn of [loadQueues, loadJobs, loadStats, loadTargets, loadCrons]) fn().catch((e) => toastOnce(e.message));

  return {
    refresh,
    onEvent(type, data) {
      if (type === "log" || type === "progress") return;
      if (type === "queue" || type === "drained") {
        refreshQueues();
        return;
      }
      refreshQueues();
      refreshJobs();
      if (type === "completed" || type === "failed") refreshStats();
    },
    leave() {
      stopped = true;
      clearInterval(slow);
      clearInterval(safety);
      resize.disconnect();
      for (const r of [refreshQueues, refreshJobs, refreshStats, refreshTargets, refreshCrons, searchLater]) r.cancel();
    },
  };
}

function setWorkers(n) {
  const el = document.querySelector("[data-testid=workers]");
  el.textContent = typeof n === "number" ? `${n} worker${n === 1 ? "" : "s"} busy` : "";
}

// ---------- the chart ----------

function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const DURATION_STEPS = [100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 3e4, 6e4, 12e4, 3e5, 6e5, 12e5, 18e5, 36e5, 72e5, 144e5, 864e5];
function niceDuration(v) {
  for (const d of DURATION_STEPS) if (d >= v) return d;
  return niceCeil(v);
}

function shortDuration(ms) {
  if (ms === 0) return "0";
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

/** Completions and failures per minute as stacked bars, the mean duration as a line on its own scale. */
function drawChart(box, timeline) {
  const width = Math.max(260, Math.floor(box.clientWidth || 600));
  const height = 190;
  const pad = { l: 34, r: 44, t: 12, b: 22 };
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const minute = 60_000;
  const end = Math.floor(Date.now() / minute) * minute;
  const start = end - 59 * minute;
  const byAt = new Map(timeline.map((b) => [b.at, b]));
  const buckets = [];
  for (let at = start; at <= end; at += minute) buckets.push(byAt.get(at) ?? { at, completed: 0, failed: 0, meanMs: null });
  // At least 2, so the middle gridline falls on a whole number of jobs.
  const maxCount = niceCeil(Math.max(2, ...buckets.map((b) => b.completed + b.failed)));
  const means = buckets.map((b) => b.meanMs).filter((m) => m !== null);
  const maxMean = means.length ? niceDuration(Math.max(...means)) : 1000;
  const step = plotW / buckets.length;
  const barW = Math.max(1, step - Math.min(2, step * 0.25));
  const y = (n) => pad.t + plotH - (n / maxCount) * plotH;
  const yMean = (ms) => pad.t + plotH - (ms / maxMean) * plotH;

  const svg = s("svg", {
    class: "chart-svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "Jobs completed and failed per minute, and their mean duration, over the last hour",
  });
  for (const f of [0, 0.5, 1]) {
    const gy = pad.t + plotH - f * plotH;
    svg.append(s("line", { class: "grid-line", x1: pad.l, x2: width - pad.r, y1: gy, y2: gy }));
    if (Number.isInteger(maxCount * f)) svg.append(s("text", { class: "axis-label", x: pad.l - 6, y: gy + 4, "text-anchor": "end" }, String(maxCount * f)));
    svg.append(s("text", { class: "axis-label mean-label", x: width - pad.r + 6, y: gy + 4, "text-anchor": "start" }, shortDuration(Math.round(maxMean * f))));
  }
  for (const [i, label] of [
    [0, "−60 min"],
    [15, "−45"],
    [30, "−30"],
    [45, "−15"],
    [59, "now"],
  ]) {
    const x = pad.l + i * step + step / 2;
    svg.append(s("text", { class: "axis-label", x, y: height - 6, "text-anchor": i === 0 ? "start" : i === 59 ? "end" : "middle" }, label));
  }
  const bars = s("g", { class: "bars" });
  buckets.forEach((b, i) => {
    const x = pad.l + i * step + (step - barW) / 2;
    if (b.completed > 0) bars.append(s("rect", { class: "bar-completed", x, y: y(b.completed), width: barW, height: y(0) - y(b.completed) }));
    if (b.failed > 0) bars.append(s("rect", { class: "bar-failed", x, y: y(b.completed + b.failed), width: barW, height: y(b.completed) - y(b.completed + b.failed) }));
    // An invisible column per minute carries its numbers as a tooltip.
    const when = new Date(b.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    bars.append(
      s(
        "rect",
        { class: "hit", x: pad.l + i * step, y: pad.t, width: step, height: plotH },
        s("title", {}, `${when}: ${b.completed} completed, ${b.failed} failed${b.meanMs !== null ? `, mean ${fmtDuration(b.meanMs)}` : ""}`),
      ),
    );
  });
  svg.append(bars);
  let d = "";
  let open = false;
  const dots = s("g", { class: "mean-dots" });
  buckets.forEach((b, i) => {
    if (b.meanMs === null) {
      open = false;
      return;
    }
    const x = pad.l + i * step + step / 2;
    const yy = yMean(b.meanMs);
    d += `${open ? "L" : "M"}${x.toFixed(1)} ${yy.toFixed(1)} `;
    open = true;
    dots.append(s("circle", { class: "mean-dot", cx: x, cy: yy, r: 2.5 }));
  });
  if (d) svg.append(s("path", { class: "mean-line", d: d.trim() }));
  svg.append(dots);
  box.replaceChildren(svg);
}

// ---------- a job's page ----------

function jobView(main, id) {
  let stopped = false;
  let job = null;
  let followLatest = true;
  /** Dependencies and the escalation chain: their events change what this page shows. */
  let related = new Set();
  const head = h("div", { class: "job-head" });
  const details = h("dl", { class: "details", "data-testid": "job-details" });
  const commandBox = h("div", { class: "command-box" });
  const attemptsBody = h("tbody");
  const attemptsTable = h(
    "table",
    { "data-testid": "job-attempts" },
    h("thead", {}, h("tr", {}, ["#", "Outcome", "Exit", "Started", "Duration", "Worker", "Error", ""].map((t) => h("th", { scope: "col" }, t)))),
    attemptsBody,
  );
  const attemptsEmpty = h("p", { class: "empty" }, "No attempt has ended yet.");
  const links = h("div", { class: "links" });
  const logPre = h("pre", { class: "log", "data-testid": "job-log", tabindex: "0", "aria-label": "Output", "aria-live": "off" });
  const logState = h("span", { class: "log-state muted", "data-testid": "job-log-state" });
  const logHead = h("div", { class: "card-head" }, h("h2", { id: "log-title" }, "Output"), logState);
  const followButton = h("button", { type: "button", class: "small", hidden: true, on: { click: () => setAttempt(job?.attempts ?? 0, true) } }, "follow latest attempt");
  logHead.append(followButton);

  main.append(
    h("section", { class: "card", "data-testid": "job-view", "data-job": id }, head),
    h("div", { class: "grid" }, h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Details")), details), h("section", { class: "card" }, commandBox, links)),
    h("section", { class: "card log-card", "aria-labelledby": "log-title" }, logHead, logPre),
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Attempts")), tableWrap(attemptsTable), attemptsEmpty),
  );

  // ---- the log, by byte offset: exact, and resumable after any gap in the event stream.
  let attempt = 0;
  let offset = 0;
  let busy = false;
  let again = false;
  let timer = null;
  let logRunning = false;

  function setAttempt(n, latest) {
    followLatest = latest;
    followButton.hidden = latest;
    if (n === attempt) return void pollLog();
    attempt = n;
    offset = 0;
    logRunning = false;
    clearTimeout(timer);
    logPre.replaceChildren();
    logPre.dataset.attempt = String(n);
    updateLogState();
    pollLog();
  }

  function updateLogState() {
    if (attempt === 0) logState.textContent = job && !WAITING.has(job.status) && job.status !== "running" ? "it never ran" : "not started yet";
    else logState.textContent = `attempt ${attempt}${logRunning ? " · live" : ""}`;
    logState.classList.toggle("is-live", logRunning);
    if (attempt !== 0 && !logRunning && !logPre.textContent) logPre.dataset.empty = "no output";
    else delete logPre.dataset.empty;
  }

  function appendLog(text) {
    // Escape sequences for colours and cursor moves mean nothing in a <pre>.
    const clean = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
    const atBottom = logPre.scrollHeight - logPre.scrollTop - logPre.clientHeight < 24;
    logPre.append(clean);
    if (logPre.textContent.length > MAX_LOG_CHARS) logPre.textContent = `…\n${logPre.textContent.slice(-MAX_LOG_CHARS)}`;
    if (atBottom) logPre.scrollTop = logPre.scrollHeight;
  }

  async function pollLog() {
    if (stopped || attempt === 0) return updateLogState();
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    clearTimeout(timer);
    const n = attempt;
    try {
      for (let i = 0; i < 32; i++) {
        const r = await api(`/api/jobs/${enc(id)}/log?offset=${offset}&attempt=${n}`);
        if (stopped || n !== attempt) return;
        if (offset === 0 && r.size > MAX_LOG_BYTES + r.text.length) {
          // A long log opens at its end; the start is a download away (runway logs).
          offset = r.size - MAX_LOG_BYTES;
          appendLog(`… ${(offset / 1024).toFixed(0)} KiB earlier output not shown (runway logs ${id} has it all)\n`);
          continue;
        }
        if (r.text) appendLog(r.text);
        offset = r.offset;
        logRunning = r.running && n === (job?.attempts ?? n);
        if (!r.text || r.offset >= r.size) break;
      }
    } catch (e) {
      toastOnce(e.message);
    } finally {
      busy = false;
      if (!stopped && n === attempt) updateLogState();
      if (stopped) return;
      if (again) {
        again = false;
        pollLog();
      } else if (logRunning) timer = setTimeout(pollLog, 1000);
    }
  }

  // ---- the job itself

  function renderHead() {
    const title = jobTitle(job);
    const actions = h("div", { class: "actions", "data-testid": "job-actions" });
    const button = (action, label, fn, cls = "") =>
      h(
        "button",
        { type: "button", class: cls, "data-action": action, on: { click: (e) => act(e.currentTarget, fn).then((r) => r && refresh(true)) } },
        label,
      );
    const post = (path, body) => () => api(`/api/jobs/${enc(id)}/${path}`, { method: "POST", ...(body ? { body } : {}) });
    if (WAITING.has(job.status)) {
      for (const [to, label] of [
        ["top", "to top"],
        ["up", "up"],
        ["down", "down"],
        ["bottom", "to bottom"],
      ])
        actions.append(button(to, label, post("move", { to })));
      actions.append(button("skip", "skip", post("skip")));
    }
    if (CANCELLABLE.has(job.status)) actions.append(button("cancel", "cancel", post("cancel"), "danger"));
    if (REQUEUABLE.has(job.status)) actions.append(button("retry", "retry", post("retry")));
    head.replaceChildren(
      h("a", { href: `#/${lastOverviewQuery ? `?${lastOverviewQuery}` : ""}`, class: "back" }, "← all jobs"),
      h("div", { class: "title-row" }, h("h1", { "data-testid": "job-title" }, title), badge(job.status, { "data-testid": "job-status" })),
      h("p", { class: "muted" }, h("code", {}, job.id), ` · ${job.kind} on `, h("a", { href: `#/?queue=${enc(job.queue)}` }, job.queue)),
      actions,
    );
    document.title = `${title} · runway`;
  }

  function row(label, ...value) {
    return [h("dt", {}, label), h("dd", {}, ...value)];
  }

  function renderDetails(attempts) {
    const started = toMs(job.startedAt);
    const finished = toMs(job.finishedAt);
    const lines = [
      row("Status", badge(job.status), job.reason ? h("span", { class: "muted" }, ` ${job.reason}`) : null),
      row("Queue", job.queue),
      row("Priority", job.priority),
      row("Attempts", `${job.attempts} of ${job.maxAttempts}`),
      row("Exit code", job.exitCode === null ? "–" : String(job.exitCode)),
      row("Added", fmtTime(job.createdAt), " (", ago(job.createdAt), ")"),
    ];
    if (job.status === "scheduled") lines.push(row("Runs at", fmtTime(job.runAt), " (", ago(job.runAt), ")"));
    if (started !== null) lines.push(row("Started", fmtTime(started)));
    if (finished !== null) lines.push(row("Finished", fmtTime(finished)));
    if (job.status === "running" && started !== null) lines.push(row("Running for", h("span", { "data-since": started }, fmtDuration(Date.now() - started))));
    else if (started !== null && finished !== null) lines.push(row("Duration", fmtDuration(finished - started)));
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
    details.replaceChildren(...lines.flat());

    const cmd = commandText(job);
    const parts = [h("div", { class: "card-head" }, h("h2", {}, cmd !== null ? "Command" : "Payload"))];
    if (cmd !== null) parts.push(h("pre", { class: "command", "data-testid": "job-command" }, cmd));
    else parts.push(h("p", { class: "muted" }, "kind ", h("code", {}, job.kind)), h("pre", { class: "command", "data-testid": "job-command" }, json(job.payload ?? null)));
    if (job.error) parts.push(h("h3", {}, "Error"), h("pre", { class: "error-text", "data-testid": "job-error" }, job.error));
    // A shell job's result repeats the log's tail and the exit code shown above.
    if (job.result !== null && job.result !== undefined && job.kind !== "shell") parts.push(h("h3", {}, "Result"), h("pre", { class: "command", "data-testid": "job-result" }, json(job.result)));
    commandBox.replaceChildren(...parts);

    clear(attemptsBody);
    for (const a of attempts) {
      const pick = h("button", { type: "button", class: "small link", "data-action": "show-log", on: { click: () => setAttempt(a.attempt, a.attempt === job.attempts) } }, "output");
      attemptsBody.append(
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
          h("td", {}, pick),
        ),
      );
    }
    attemptsEmpty.hidden = attempts.length > 0;
    attemptsTable.hidden = attempts.length === 0;
  }

  function renderLinks(dependencies, chain) {
    const parts = [];
    if (job.dependsOn.length) {
      const byId = new Map(dependencies.map((d) => [d.id, d]));
      parts.push(
        h("h3", {}, "Depends on"),
        h(
          "ul",
          { class: "dep-list", "data-testid": "job-dependencies" },
          job.dependsOn.map((depId) => {
            const d = byId.get(depId);
            return h("li", {}, h("a", { href: jobHref(depId) }, d?.name || shortId(depId)), " ", d ? badge(d.status) : h("span", { class: "muted" }, "(pruned)"));
          }),
        ),
      );
    }
    if (chain.length > 1) {
      parts.push(
        h("h3", {}, "Escalation chain"),
        h(
          "ol",
          { class: "chain", "data-testid": "job-chain" },
          chain.map((c) =>
            h(
              "li",
              { class: c.id === id ? "here" : "" },
              c.id === id ? h("strong", {}, `${c.kind} on ${c.queue}`) : h("a", { href: jobHref(c.id) }, `${c.kind} on ${c.queue}`),
              " ",
              badge(c.status),
            ),
          ),
        ),
      );
    }
    links.replaceChildren(...parts);
  }

  async function load() {
    let r;
    try {
      r = await api(`/api/jobs/${enc(id)}`);
    } catch (e) {
      if (stopped) return;
      if (e.status === 404) {
        main.replaceChildren(
          h("section", { class: "card", "data-testid": "job-missing" }, h("a", { href: "#/", class: "back" }, "← all jobs"), h("h1", {}, "No such job"), h("p", {}, `There is no job ${id}; it may have been pruned.`)),
        );
        stopped = true;
        return;
      }
      throw e;
    }
    if (stopped) return;
    const before = job;
    job = r.job;
    related = new Set([...r.dependencies.map((d) => d.id), ...r.chain.map((c) => c.id)]);
    renderHead();
    renderDetails(r.attempts);
    renderLinks(r.dependencies, r.chain);
    if (followLatest && job.attempts !== attempt) setAttempt(job.attempts, true);
    else if (before && before.status === "running" && job.status !== "running") pollLog();
    else if (job.status === "running" && !logRunning && !busy && attempt === job.attempts) pollLog();
  }
  const refresh = coalesce(load, 150, 600);
  const safety = setInterval(() => !document.hidden && refresh(), 10_000);
  load().catch((e) => toast(e.message));

  return {
    refresh,
    onEvent(type, data) {
      if (type === "log") {
        // The line itself is in the file: fetching by offset now shows it at once, and only once.
        if (data.jobId === id && data.attempt === attempt) pollLog();
        return;
      }
      const other = data.job?.id;
      if (other === id || (other && related.has(other)) || (other && job?.escalatedTo === other)) refresh();
    },
    leave() {
      stopped = true;
      refresh.cancel();
      clearTimeout(timer);
      clearInterval(safety);
      document.title = "runway";
    },
  };
}

// ---------- start ----------

setLive(false, "connecting…");
route();
window.addEventListener("hashchange", route);
connect();
