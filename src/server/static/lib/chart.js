// The last hour as an SVG: completions and failures per minute as stacked bars, the mean
// duration as a line on a scale of its own (right axis). Classes only; app.css colours it.
import { s } from "./dom.js";
import { fmtDuration, fmtShortDuration } from "./format.js";

const MINUTE = 60_000;
const HEIGHT = 190;
const PAD = { l: 34, r: 44, t: 12, b: 22 };
const DURATION_STEPS = [100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 3e4, 6e4, 12e4, 3e5, 6e5, 12e5, 18e5, 36e5, 72e5, 144e5, 864e5];
const TIME_LABELS = [
  [0, "−60 min"],
  [15, "−45"],
  [30, "−30"],
  [45, "−15"],
  [59, "now"],
];

function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function niceDuration(v) {
  for (const d of DURATION_STEPS) if (d >= v) return d;
  return niceCeil(v);
}

/** Sixty minutes ending with this one; a minute the server did not mention had no jobs. */
function lastHour(timeline) {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const byAt = new Map(timeline.map((b) => [b.at, b]));
  const buckets = [];
  for (let at = end - 59 * MINUTE; at <= end; at += MINUTE) buckets.push(byAt.get(at) ?? { at, completed: 0, failed: 0, meanMs: null });
  return buckets;
}

/** Sizes and scales of a chart `width` wide. */
function frame(width, buckets) {
  const plotW = width - PAD.l - PAD.r;
  const plotH = HEIGHT - PAD.t - PAD.b;
  // At least 2, so the middle gridline falls on a whole number of jobs.
  const maxCount = niceCeil(Math.max(2, ...buckets.map((b) => b.completed + b.failed)));
  const means = buckets.map((b) => b.meanMs).filter((m) => m !== null);
  const maxMean = means.length ? niceDuration(Math.max(...means)) : 1000;
  const step = plotW / buckets.length;
  return {
    width,
    plotH,
    maxCount,
    maxMean,
    step,
    barW: Math.max(1, step - Math.min(2, step * 0.25)),
    y: (n) => PAD.t + plotH - (n / maxCount) * plotH,
    yMean: (ms) => PAD.t + plotH - (ms / maxMean) * plotH,
  };
}

function axes(svg, f) {
  for (const share of [0, 0.5, 1]) {
    const gy = PAD.t + f.plotH - share * f.plotH;
    svg.append(s("line", { class: "grid-line", x1: PAD.l, x2: f.width - PAD.r, y1: gy, y2: gy }));
    if (Number.isInteger(f.maxCount * share)) svg.append(s("text", { class: "axis-label", x: PAD.l - 6, y: gy + 4, "text-anchor": "end" }, String(f.maxCount * share)));
    svg.append(s("text", { class: "axis-label mean-label", x: f.width - PAD.r + 6, y: gy + 4, "text-anchor": "start" }, fmtShortDuration(Math.round(f.maxMean * share))));
  }
  for (const [i, label] of TIME_LABELS) {
    const x = PAD.l + i * f.step + f.step / 2;
    svg.append(s("text", { class: "axis-label", x, y: HEIGHT - 6, "text-anchor": i === 0 ? "start" : i === 59 ? "end" : "middle" }, label));
  }
}

function bars(buckets, f) {
  const g = s("g", { class: "bars" });
  buckets.forEach((b, i) => {
    const x = PAD.l + i * f.step + (f.step - f.barW) / 2;
    if (b.completed > 0) g.append(s("rect", { class: "bar-completed", x, y: f.y(b.completed), width: f.barW, height: f.y(0) - f.y(b.completed) }));
    if (b.failed > 0) g.append(s("rect", { class: "bar-failed", x, y: f.y(b.completed + b.failed), width: f.barW, height: f.y(b.completed) - f.y(b.completed + b.failed) }));
    // An invisible column per minute carries its numbers as a tooltip.
    const when = new Date(b.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const text = `${when}: ${b.completed} completed, ${b.failed} failed${b.meanMs !== null ? `, mean ${fmtDuration(b.meanMs)}` : ""}`;
    g.append(s("rect", { class: "hit", x: PAD.l + i * f.step, y: PAD.t, width: f.step, height: f.plotH }, s("title", {}, text)));
  });
  return g;
}

/** The mean duration's line (broken where a minute had none) and its dots. */
function meanLine(buckets, f) {
  let d = "";
  let open = false;
  const dots = s("g", { class: "mean-dots" });
  buckets.forEach((b, i) => {
    if (b.meanMs === null) {
      open = false;
      return;
    }
    const x = PAD.l + i * f.step + f.step / 2;
    const yy = f.yMean(b.meanMs);
    d += `${open ? "L" : "M"}${x.toFixed(1)} ${yy.toFixed(1)} `;
    open = true;
    dots.append(s("circle", { class: "mean-dot", cx: x, cy: yy, r: 2.5 }));
  });
  return [d ? s("path", { class: "mean-line", d: d.trim() }) : null, dots];
}

export function drawChart(box, timeline) {
  const width = Math.max(260, Math.floor(box.clientWidth || 600));
  const buckets = lastHour(timeline);
  const f = frame(width, buckets);
  const svg = s("svg", {
    class: "chart-svg",
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: "img",
    "aria-label": "Jobs completed and failed per minute, and their mean duration, over the last hour",
  });
  axes(svg, f);
  svg.append(bars(buckets, f), ...meanLine(buckets, f).filter(Boolean));
  box.replaceChildren(svg);
}
