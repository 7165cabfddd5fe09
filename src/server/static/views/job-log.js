// A job's output on its page, read by byte offset: exact, and resumable after any gap in the
// event stream. One attempt's log at a time; by default the latest, followed as it runs.
import { getJobLog } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { fmtKiB } from "../lib/format.js";
import { toastOnce } from "../lib/toast.js";
import { FINISHED_STATUSES } from "../lib/vocabulary.js";

/** The most of a log kept on the page: a chatty job must not make the tab crawl. */
const MAX_LOG_CHARS = 1_000_000;
const MAX_LOG_BYTES = 512 * 1024;
/** Reads per poll at most, each up to the server's 256 KiB. */
const READS_PER_POLL = 32;

function appendTo(pre, text) {
  // Escape sequences for colours and cursor moves mean nothing in a <pre>.
  const clean = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  pre.append(clean);
  if (pre.textContent.length > MAX_LOG_CHARS) pre.textContent = `…\n${pre.textContent.slice(-MAX_LOG_CHARS)}`;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function logCard(follow) {
  const pre = h("pre", { class: "log", "data-testid": "job-log", tabindex: "0", "aria-label": "Output", "aria-live": "off" });
  const state = h("span", { class: "log-state muted", "data-testid": "job-log-state" });
  const followButton = h("button", { type: "button", class: "small", hidden: true, on: { click: follow } }, "follow latest attempt");
  const element = h("section", { class: "card log-card", "aria-labelledby": "log-title" }, h("div", { class: "card-head" }, h("h2", { id: "log-title" }, "Output"), state, followButton), pre);
  return { element, pre, state, followButton };
}

/** The log card of job `id`; currentJob() is the job as the page last fetched it (or null). */
export function jobLog(id, currentJob) {
  const { element, pre, state, followButton } = logCard(() => show(currentJob()?.attempt ?? 0, true));
  let stopped = false;
  let followLatest = true;
  let attempt = 0;
  let offset = 0;
  let running = false;
  let busy = false;
  let again = false;
  let timer = null;

  function updateState() {
    const job = currentJob();
    if (attempt === 0) state.textContent = job && FINISHED_STATUSES.includes(job.status) ? "it never ran" : "not started yet";
    else state.textContent = `attempt ${attempt}${running ? " · live" : ""}`;
    state.classList.toggle("is-live", running);
    if (attempt !== 0 && !running && !pre.textContent) pre.dataset.empty = "no output";
    else delete pre.dataset.empty;
  }

  /** Shows attempt n's log; latest: keep following the newest attempt as new ones start. */
  function show(n, latest) {
    followLatest = latest;
    followButton.hidden = latest;
    if (n === attempt) return void poll();
    attempt = n;
    offset = 0;
    running = false;
    clearTimeout(timer);
    pre.replaceChildren();
    pre.dataset.attempt = String(n);
    updateState();
    poll();
  }

  /** Reads what is new since the offset; true: the poll should go on reading. */
  async function readOnce(n) {
    const r = await getJobLog(id, offset, n);
    if (stopped || n !== attempt) return false;
    if (offset === 0 && r.size > MAX_LOG_BYTES + r.text.length) {
      // A long log opens at its end; the start is a download away (runway logs).
      offset = r.size - MAX_LOG_BYTES;
      appendTo(pre, `… ${fmtKiB(offset)} earlier output not shown (runway logs ${id} has it all)\n`);
      return true;
    }
    if (r.text) appendTo(pre, r.text);
    offset = r.offset;
    running = r.running && n === (currentJob()?.attempt ?? n);
    return Boolean(r.text) && r.offset < r.size;
  }

  /** Never two at once: a poll asked for during one runs right after it. */
  async function poll() {
    if (stopped || attempt === 0) return updateState();
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    clearTimeout(timer);
    const n = attempt;
    try {
      for (let i = 0; i < READS_PER_POLL; i++) if (!(await readOnce(n))) break;
    } catch (e) {
      toastOnce(e.message);
    } finally {
      busy = false;
      if (!stopped && n === attempt) updateState();
      if (!stopped) {
        if (again) {
          again = false;
          poll();
        } else if (running) timer = setTimeout(poll, 1000);
      }
    }
  }

  /** The page fetched the job again: a new attempt is followed, an ended one read to its end. */
  function jobChanged(before, job) {
    if (followLatest && job.attempt !== attempt) show(job.attempt, true);
    else if (before && before.status === "running" && job.status !== "running") poll();
    else if (job.status === "running" && !running && !busy && attempt === job.attempt) poll();
  }

  return {
    element,
    show,
    jobChanged,
    /** A log event: a line of attempt n was written. */
    logged(n) {
      if (n === attempt) poll();
    },
    leave() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
