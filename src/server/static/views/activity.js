// The "Last hour" card: the throughput chart and its totals, and the topbar's busy workers (the
// same answer carries both).
import { getStats } from "../lib/api.js";
import { drawChart } from "../lib/chart.js";
import { h } from "../lib/dom.js";
import { coalesce } from "../lib/schedule.js";
import { card } from "../lib/widgets.js";

function legend() {
  return h(
    "ul",
    { class: "legend" },
    h("li", {}, h("span", { class: "swatch completed" }), "completed per minute"),
    h("li", {}, h("span", { class: "swatch failed" }), "failed per minute"),
    h("li", {}, h("span", { class: "swatch mean" }), "mean duration"),
  );
}

function setWorkers(n) {
  const el = document.querySelector("[data-testid=workers]");
  el.textContent = typeof n === "number" ? `${n} worker${n === 1 ? "" : "s"} busy` : "";
}

export function activitySection() {
  let stopped = false;
  let timeline = [];
  const chartBox = h("div", { class: "chart", "data-testid": "throughput-chart" });
  const summary = h("p", { class: "chart-summary muted" });

  async function load() {
    const r = await getStats();
    if (stopped) return;
    timeline = r.timeline;
    setWorkers(r.workers);
    drawChart(chartBox, timeline);
    const completed = timeline.reduce((a, b) => a + b.completed, 0);
    const failed = timeline.reduce((a, b) => a + b.failed, 0);
    summary.textContent = `${completed.toLocaleString()} completed, ${failed.toLocaleString()} failed in the last hour`;
  }
  const refresh = coalesce(load, 1000, 3000);
  // The chart is drawn to its box's width in pixels, so it is drawn again when that changes.
  const resize = new ResizeObserver(() => requestAnimationFrame(() => !stopped && drawChart(chartBox, timeline)));
  resize.observe(chartBox);

  return {
    element: card("activity", "Last hour", chartBox, legend(), summary),
    load,
    refresh,
    leave() {
      stopped = true;
      refresh.cancel();
      resize.disconnect();
    },
  };
}
