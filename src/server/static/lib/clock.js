// Elapsed times and "5 min ago" labels keep counting without a fetch: each carries its moment in
// an attribute, and one timer rewrites them all every second.
import { h } from "./dom.js";
import { fmtAgo, fmtDuration, fmtTime, toMs } from "./format.js";

export function startClock() {
  setInterval(() => {
    if (document.hidden) return;
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-since]")) el.textContent = fmtDuration(now - Number(el.dataset.since));
    for (const el of document.querySelectorAll("[data-ago]")) el.textContent = fmtAgo(Number(el.dataset.ago), now);
  }, 1000);
}

/** A moment as "3 min ago" (or "in 3 min"), with the exact time as its tooltip. */
export function ago(t) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return h("span", { class: "muted" }, "–");
  return h("time", { "data-ago": ms, datetime: new Date(ms).toISOString(), title: fmtTime(ms) }, fmtAgo(ms));
}

/** The time since `started`, counting up. */
export function elapsed(started, props = {}) {
  return h("span", { "data-since": started, ...props }, fmtDuration(Date.now() - started));
}
