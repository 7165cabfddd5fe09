/**
 * The benchmark's charts as standalone SVG text: no dependency, no file system, no clock, so the
 * same results always draw the same bytes. `chartsFor` reads a results file's object (see
 * results.ts) and returns one chart per kind of table it holds; `barChart` and `lineChart` draw.
 *
 * Bars are drawn from zero on a linear axis, so their heights are proportional to their values.
 * When one bar dwarfs the rest of its panel (pg-boss's half-second latency beside 2 ms), the axis
 * stops above the others and that bar is drawn broken, with a zig-zag and its own value, rather
 * than flattening every other bar to a line.
 */

export const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

export interface Bar {
  /** The side: picks the colour and ties the bar to its legend entry. */
  series: string;
  /** Under the bar: the side's label, then `note` (its durability class). */
  label: string;
  value: number;
  min?: number;
  max?: number;
  note?: string;
}

export interface BarPanel {
  title: string;
  /** The y axis's label, with its unit. */
  axis: string;
  bars: Bar[];
}

export interface LegendEntry {
  series: string;
  label: string;
  color: string;
  dashed?: boolean;
}

export interface BarChartSpec {
  title: string;
  subtitle?: string[];
  panels: BarPanel[];
  legend: LegendEntry[];
  footnotes?: string[];
}

export interface Point {
  x: number;
  y: number;
}

export interface Line {
  series: string;
  color: string;
  dashed?: boolean;
  points: Point[];
}

export interface LinePanel {
  title: string;
  xAxis: string;
  yAxis: string;
  /** A log scale for spans of several orders of magnitude (jobs waiting: 1,000 to 1,000,000). */
  xLog?: boolean;
  yLog?: boolean;
  /** Tick values for the x axis; evenly spaced nice ones when absent. */
  xTicks?: number[];
  xFormat?: (x: number) => string;
  lines: Line[];
  /** Write each point's value beside it (for a few points per line). */
  labelPoints?: boolean;
}

export interface LineChartSpec {
  title: string;
  subtitle?: string[];
  panels: LinePanel[];
  legend: LegendEntry[];
  footnotes?: string[];
}

const SIDE_COLORS: Record<string, string> = {
  runway: "#0072B2",
  "runway-full": "#56B4E9",
  bullmq: "#D55E00",
  "runway-pg": "#0072B2",
  "runway-pg-async": "#56B4E9",
  graphile: "#009E73",
  "graphile-default": "#7FCDB5",
  pgboss: "#CC79A7",
  "runway-shell": "#0072B2",
  tsp: "#E69F00",
  SQLite: "#0072B2",
  PostgreSQL: "#009E73",
};
const FALLBACK = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D1F", "#444444"];

/**
 * One colour per series of a chart: the fixed one of each side the benchmark knows, so a side looks
 * the same in every chart, unless an earlier series of the chart has it (runway and runway-pg
 * together); the others take palette colours no series of the chart has.
 */
export function assignColors(series: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of series) {
    const known = SIDE_COLORS[s];
    if (known && ![...out.values()].includes(known)) out.set(s, known);
  }
  const reserved = new Set([...out.values()]);
  for (const s of series) {
    if (out.has(s)) continue;
    const c = FALLBACK.find((x) => !reserved.has(x)) ?? FALLBACK[reserved.size % FALLBACK.length]!;
    reserved.add(c);
    out.set(s, c);
  }
  return out;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Short numbers for labels: 57.5k, 1.2M, 0.180. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${trim((v / 1e3).toPrecision(3))}k`;
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return "0";
  return v.toPrecision(2);
}

/** A tick's label: as many decimals as the step needs, thousands in k and M. */
export function tickLabel(t: number, step: number): string {
  if (step >= 1000) return compact(t);
  let d = 0;
  while (d < 6 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-9) d++;
  return t.toFixed(d);
}

function trim(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** A round step giving about `count` ticks from 0 to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

const n = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

function text(x: number, y: number, body: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join("");
  return `<text x="${n(x)}" y="${n(y)}"${a}>${escapeXml(body)}</text>`;
}

/** Splits a label into lines of at most `width` characters at spaces (a longer word stays whole). */
export function wrap(label: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of label.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}" font-size="12" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** Title, subtitle lines and a legend that wraps; returns the elements and the height they take. */
function heading(width: number, title: string, subtitle: string[], legend: LegendEntry[]): { body: string[]; height: number } {
  const titleLines = wrap(title, Math.floor((width - 40) / TITLE_CHAR));
  const body = titleLines.map((l, i) => text(20, 30 + 23 * i, l, { "font-size": 18, "font-weight": "bold", fill: "#111111" }));
  let y = 30 + 23 * (titleLines.length - 1);
  for (const line of subtitle.flatMap((l) => wrap(l, Math.floor((width - 40) / SMALL_CHAR)))) {
    y += 17;
    body.push(text(20, y, line, { "font-size": 12, fill: "#444444" }));
  }
  y += 14;
  let x = 20;
  let rowY = y + 12;
  for (const e of legend) {
    const w = 26 + e.label.length * 6.6 + 18;
    if (x + w > width - 10 && x > 20) {
      x = 20;
      rowY += 20;
    }
    body.push(
      e.dashed
        ? `<line x1="${n(x)}" y1="${n(rowY - 4)}" x2="${n(x + 18)}" y2="${n(rowY - 4)}" stroke="${e.color}" stroke-width="3" stroke-dasharray="5 3"/>`
        : `<rect x="${n(x)}" y="${n(rowY - 11)}" width="14" height="14" fill="${e.color}"/>`,
    );
    body.push(text(x + 24, rowY, e.label, { "font-size": 12, fill: "#222222", class: "legend" }));
    x += w;
  }
  return { body, height: rowY + 16 };
}

/** Rough widths of a character, for wrapping: a bold 18 px title and 11–12 px text. */
const TITLE_CHAR = 10.8;
const SMALL_CHAR = 6.6;

/** Wide enough for the panels, and for the title and notes up to a limit, past which they wrap. */
function chartWidth(panels: number, title: string, notes: string[]): number {
  const text = Math.max(title.length * TITLE_CHAR, ...notes.map((x) => x.length * SMALL_CHAR)) + 40;
  return Math.ceil(Math.max(panels, Math.min(1040, text)));
}

function footer(width: number, y: number, footnotes: string[]): { body: string[]; lines: number } {
  const lines = footnotes.flatMap((f) => wrap(f, Math.floor((width - 40) / SMALL_CHAR)));
  return { body: lines.map((f, i) => text(20, y + 16 * i, f, { "font-size": 11, fill: "#555555" })), lines: lines.length };
}

const SLOT = 100;
const BAR = 72;
const PLOT_H = 220;
const AXIS_W = 64;

/**
 * Where a panel's axis stops. Normally a round number above every bar and whisker; when the
 * largest bar is over eight times the next one, a round number above the next one instead, and
 * the largest is drawn broken.
 */
export function barAxis(bars: readonly Bar[]): { top: number; step: number; broken: (b: Bar) => boolean } {
  const tops = bars.map((b) => Math.max(b.value, b.max ?? b.value)).sort((a, b) => b - a);
  const highest = tops[0] ?? 0;
  const next = tops.find((t) => t < highest) ?? 0;
  const breaking = bars.length > 1 && next > 0 && highest > 8 * next;
  const reach = breaking ? next * 1.15 : highest;
  const step = niceStep(reach);
  const top = Math.max(step, Math.ceil(reach / step) * step);
  return { top, step, broken: (b) => breaking && Math.max(b.value, b.max ?? b.value) > top };
}

function barPanel(p: BarPanel, index: number, x0: number, y0: number, width: number, colors: Map<string, string>): string[] {
  const out: string[] = [`<g class="panel" data-panel="${index}">`];
  out.push(text(x0 + width / 2, y0 + 16, p.title, { "font-size": 13, "font-weight": "bold", "text-anchor": "middle", fill: "#111111" }));
  const plotTop = y0 + 44;
  const base = plotTop + PLOT_H;
  const left = x0 + AXIS_W;
  const right = x0 + width - 10;
  const { top, step, broken } = barAxis(p.bars);
  const yOf = (v: number) => base - (Math.min(v, top) / top) * PLOT_H;
  for (let t = 0; t <= top + step / 1000; t += step) {
    const y = yOf(t);
    out.push(`<line x1="${n(left)}" y1="${n(y)}" x2="${n(right)}" y2="${n(y)}" stroke="${t === 0 ? "#333333" : "#e2e2e2"}" stroke-width="1"/>`);
    out.push(text(left - 6, y + 4, tickLabel(t, step), { "text-anchor": "end", "font-size": 11, fill: "#444444" }));
  }
  out.push(`<line x1="${n(left)}" y1="${n(plotTop)}" x2="${n(left)}" y2="${n(base)}" stroke="#333333" stroke-width="1"/>`);
  out.push(
    text(x0 + 14, plotTop + PLOT_H / 2, p.axis, {
      transform: `rotate(-90 ${n(x0 + 14)} ${n(plotTop + PLOT_H / 2)})`,
      "text-anchor": "middle",
      "font-size": 11,
      fill: "#444444",
    }),
  );
  p.bars.forEach((b, i) => {
    const cx = left + 14 + SLOT * i + SLOT / 2;
    const isBroken = broken(b);
    const h = isBroken ? PLOT_H + 8 : (b.value / top) * PLOT_H;
    const y = base - h;
    const color = colors.get(b.series) ?? "#888888";
    out.push(
      `<rect class="bar" data-series="${escapeXml(b.series)}" data-value="${b.value}" data-broken="${isBroken}" x="${n(cx - BAR / 2)}" y="${n(y)}" width="${BAR}" height="${n(h)}" fill="${color}"/>`,
    );
    let labelY = y - 6;
    if (isBroken) {
      // A white zig-zag across the bar near its top: the axis does not reach this value.
      const zy = y + 22;
      const pts = [0, 1, 2, 3, 4, 5, 6].map((k) => `${n(cx - BAR / 2 - 2 + (k * (BAR + 4)) / 6)},${n(zy + (k % 2 === 0 ? -4 : 4))}`).join(" ");
      out.push(`<polyline points="${pts}" fill="none" stroke="#ffffff" stroke-width="5"/>`);
    } else if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
      const y1 = yOf(b.min);
      const y2 = yOf(b.max);
      out.push(
        `<g class="whisker" data-min="${b.min}" data-max="${b.max}" stroke="#222222" stroke-width="1.5">` +
          `<line x1="${n(cx)}" y1="${n(y1)}" x2="${n(cx)}" y2="${n(y2)}"/>` +
          `<line x1="${n(cx - 9)}" y1="${n(y1)}" x2="${n(cx + 9)}" y2="${n(y1)}"/>` +
          `<line x1="${n(cx - 9)}" y1="${n(y2)}" x2="${n(cx + 9)}" y2="${n(y2)}"/></g>`,
      );
      labelY = Math.min(labelY, y2 - 8);
    }
    out.push(text(cx, labelY, compact(b.value), { "text-anchor": "middle", "font-size": 12, "font-weight": "bold", fill: "#111111", class: "value" }));
    const lines = wrap(b.label, 16).slice(0, 2);
    lines.forEach((l, k) => out.push(text(cx, base + 16 + 13 * k, l, { "text-anchor": "middle", "font-size": 11, fill: "#222222", class: "bar-label" })));
    if (b.note) out.push(text(cx, base + 16 + 13 * lines.length, b.note, { "text-anchor": "middle", "font-size": 10, "font-style": "italic", fill: "#555555", class: "bar-note" }));
  });
  out.push("</g>");
  return out;
}

export function barChart(spec: BarChartSpec): string {
  const colors = new Map(spec.legend.map((e) => [e.series, e.color]));
  const most = Math.max(1, ...spec.panels.map((p) => p.bars.length));
  const panelW = AXIS_W + 24 + most * SLOT;
  const perRow = Math.max(1, Math.min(spec.panels.length, Math.floor(1000 / panelW)));
  const width = chartWidth(Math.max(640, perRow * panelW + 40), spec.title, [...(spec.subtitle ?? []), ...(spec.footnotes ?? [])]);
  const head = heading(width, spec.title, spec.subtitle ?? [], spec.legend);
  const panelH = 44 + PLOT_H + 62;
  const rows = Math.ceil(spec.panels.length / perRow);
  const body = [...head.body];
  spec.panels.forEach((p, i) => {
    const x0 = 20 + (i % perRow) * panelW;
    const y0 = head.height + 10 + Math.floor(i / perRow) * panelH;
    body.push(...barPanel(p, i, x0, y0, panelW, colors));
  });
  const footY = head.height + 10 + rows * panelH + 8;
  const anyBroken = spec.panels.some((p) => p.bars.some(barAxis(p.bars).broken));
  const notes = [...(spec.footnotes ?? []), ...(anyBroken ? ["A zig-zag marks a bar cut short: its value, written above it, is beyond the axis."] : [])];
  const foot = footer(width, footY, notes);
  body.push(...foot.body);
  return svgDocument(width, footY + 16 * foot.lines + 8, spec.title, body);
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

const LINE_W = 460;
const LINE_H = 230;

function linePanel(p: LinePanel, index: number, x0: number, y0: number): string[] {
  const out: string[] = [`<g class="panel" data-panel="${index}">`];
  out.push(text(x0 + LINE_W / 2, y0 + 16, p.title, { "font-size": 13, "font-weight": "bold", "text-anchor": "middle", fill: "#111111" }));
  const left = x0 + AXIS_W;
  const right = x0 + LINE_W - 16;
  const plotTop = y0 + 34;
  const base = plotTop + LINE_H;
  const pts = p.lines.flatMap((l) => l.points).filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
  const xs = pts.map((q) => q.x);
  const ys = pts.map((q) => q.y);
  // Log axes span whole powers of ten around the data; linear ones start at zero.
  let xLo: number, xHi: number, yLo: number, yHi: number;
  let xTicks: number[], yTicks: number[];
  if (p.xLog) {
    const pos = xs.filter((x) => x > 0);
    xTicks = p.xTicks ?? logTicks(Math.min(...pos, 1), Math.max(...pos, 10));
    xLo = Math.min(...xTicks, ...pos);
    xHi = Math.max(...xTicks, ...pos);
  } else {
    const hi = Math.max(...xs, 0);
    const step = niceStep(hi);
    xTicks = p.xTicks ?? Array.from({ length: Math.round(Math.ceil(hi / step)) + 1 }, (_, k) => k * step);
    xLo = Math.min(0, ...xTicks);
    xHi = Math.max(...xTicks, hi, 1e-9);
  }
  if (p.yLog) {
    const pos = ys.filter((y) => y > 0);
    yTicks = logTicks(Math.min(...pos, 1), Math.max(...pos, 10));
    yLo = yTicks[0]!;
    yHi = yTicks[yTicks.length - 1]!;
  } else {
    const hi = Math.max(...ys, 0);
    const step = niceStep(hi);
    yLo = 0;
    yHi = Math.max(step, Math.ceil(hi / step) * step);
    yTicks = Array.from({ length: Math.round(yHi / step) + 1 }, (_, k) => k * step);
  }
  const sx = (x: number) => (p.xLog ? (Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo) || 1) : (x - xLo) / (xHi - xLo || 1));
  const sy = (y: number) => (p.yLog ? (Math.log10(Math.max(y, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo) || 1) : (y - yLo) / (yHi - yLo || 1));
  const px = (x: number) => left + 20 + sx(x) * (right - left - 32);
  const py = (y: number) => base - sy(y) * LINE_H;
  for (const t of yTicks) {
    out.push(`<line x1="${n(left)}" y1="${n(py(t))}" x2="${n(right)}" y2="${n(py(t))}" stroke="${t === yLo ? "#333333" : "#e2e2e2"}" stroke-width="1"/>`);
    out.push(text(left - 6, py(t) + 4, p.yLog ? compact(t) : tickLabel(t, yTicks[1] ?? 1), { "text-anchor": "end", "font-size": 11, fill: "#444444" }));
  }
  for (const t of xTicks) {
    out.push(`<line x1="${n(px(t))}" y1="${n(base)}" x2="${n(px(t))}" y2="${n(base + 5)}" stroke="#333333" stroke-width="1"/>`);
    out.push(text(px(t), base + 18, (p.xFormat ?? compact)(t), { "text-anchor": "middle", "font-size": 11, fill: "#444444" }));
  }
  out.push(`<line x1="${n(left)}" y1="${n(plotTop)}" x2="${n(left)}" y2="${n(base)}" stroke="#333333" stroke-width="1"/>`);
  out.push(text((left + right) / 2, base + 36, p.xAxis, { "text-anchor": "middle", "font-size": 11, fill: "#444444" }));
  out.push(
    text(x0 + 14, plotTop + LINE_H / 2, p.yAxis + (p.yLog ? " (log scale)" : ""), {
      transform: `rotate(-90 ${n(x0 + 14)} ${n(plotTop + LINE_H / 2)})`,
      "text-anchor": "middle",
      "font-size": 11,
      fill: "#444444",
    }),
  );
  for (const l of p.lines) {
    const good = l.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && (!p.xLog || q.x > 0)).sort((a, b) => a.x - b.x);
    if (good.length === 0) continue;
    const d = good.map((q, k) => `${k === 0 ? "M" : "L"}${n(px(q.x))},${n(py(q.y))}`).join(" ");
    out.push(`<path class="line" data-series="${escapeXml(l.series)}" d="${d}" fill="none" stroke="${l.color}" stroke-width="2.5"${l.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    // Dots only where there are few enough to tell apart.
    for (const q of good.length <= 40 && !l.dashed ? good : []) {
      out.push(`<circle class="point" data-series="${escapeXml(l.series)}" data-x="${q.x}" data-y="${q.y}" cx="${n(px(q.x))}" cy="${n(py(q.y))}" r="3.5" fill="${l.color}"/>`);
      if (p.labelPoints) out.push(text(px(q.x), py(q.y) - 8, compact(q.y), { "text-anchor": "middle", "font-size": 11, fill: "#111111", class: "value" }));
    }
  }
  out.push("</g>");
  return out;
}

export function lineChart(spec: LineChartSpec): string {
  const perRow = Math.min(2, Math.max(1, spec.panels.length));
  const width = chartWidth(perRow * LINE_W + 40, spec.title, [...(spec.subtitle ?? []), ...(spec.footnotes ?? [])]);
  const head = heading(width, spec.title, spec.subtitle ?? [], spec.legend);
  const panelH = 34 + LINE_H + 50;
  const body = [...head.body];
  spec.panels.forEach((p, i) => body.push(...linePanel(p, i, 20 + (i % perRow) * LINE_W, head.height + 10 + Math.floor(i / perRow) * panelH)));
  const footY = head.height + 10 + Math.ceil(spec.panels.length / perRow) * panelH + 8;
  const foot = footer(width, footY, spec.footnotes ?? []);
  body.push(...foot.body);
  return svgDocument(width, footY + 16 * foot.lines + 8, spec.title, body);
}

// ---- From a results file to charts ----------------------------------------------------------

/** The parts of a results file the charts read; everything is checked, since any file can be passed. */
interface ValueRecord {
  side: string;
  label?: string;
  durability?: string;
  median: number;
  min?: number;
  max?: number;
  runs?: number[];
}

export interface Chart {
  /** Part of the file name: <results file name>-<name>.svg. */
  name: string;
  svg: string;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);
const str = (x: unknown, fallback = ""): string => (typeof x === "string" ? x : fallback);

/** Every chart name chartsFor can return, so that stale files of an earlier run can be told apart. */
export const CHART_NAMES = ["throughput-sqlite", "latency-sqlite", "throughput-postgresql", "latency-postgresql", "scale", "steady", "churn"] as const;

function values(f: Obj): ValueRecord[] {
  const vs = Array.isArray(f.values) ? f.values : [];
  return vs.filter(isObj).flatMap((v) => {
    const median = num(v.median);
    if (median === null || typeof v.side !== "string") return [];
    return [{ side: v.side, label: str(v.label, v.side), durability: str(v.durability) || undefined, median, min: num(v.min) ?? undefined, max: num(v.max) ?? undefined, runs: Array.isArray(v.runs) ? (v.runs as number[]) : undefined }];
  });
}

function runsOf(results: Obj): number | null {
  return isObj(results.config) ? num(results.config.runs) : null;
}

function fsyncText(results: Obj, table: Obj): string | null {
  const f = isObj(table.fsyncMs) ? table.fsyncMs : isObj(results.environment) && isObj(results.environment.fsyncMs) ? results.environment.fsyncMs : null;
  const p50 = f ? num(f.p50) : null;
  const p99 = f ? num(f.p99) : null;
  return p50 !== null && p99 !== null ? `disk fsync (4 KiB + fdatasync): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms` : null;
}

function machine(results: Obj): string {
  const e = isObj(results.environment) ? results.environment : {};
  const cpu = [str(e.cpu), num(e.cores) !== null ? `× ${num(e.cores)}` : ""].filter(Boolean).join(" ");
  return [cpu, str(e.node) ? `Node ${str(e.node)}` : ""].filter(Boolean).join(" · ");
}

/** The SQLite/Redis or PostgreSQL table: throughput panels and latency panels, one per figure. */
function comparedCharts(results: Obj, table: Obj, key: "sqlite" | "postgresql"): Chart[] {
  const figures = (Array.isArray(table.figures) ? table.figures : []).filter(isObj);
  // graphile-worker's defaults rows join the panel of the figure they repeat.
  const panels: { id: string; unit: string; title: string; values: ValueRecord[] }[] = [];
  for (const f of figures) {
    const id = str(f.id);
    const into = panels.find((p) => p.id === id.replace("-graphile-defaults", ""));
    if (into && into.id !== id) {
      into.values.push(...values(f).filter((v) => !into.values.some((w) => w.side === v.side)));
      continue;
    }
    panels.push({ id, unit: str(f.unit), title: str(f.label).trim(), values: values(f) });
  }
  const sides = (Array.isArray(table.sides) ? table.sides : []).filter(isObj);
  const classOf = (side: string, v?: ValueRecord) => v?.durability ?? str(sides.find((s) => s.side === side)?.durability);
  const runs = runsOf(results);
  const what = key === "sqlite" ? "runway on SQLite beside BullMQ on Redis" : "runway on PostgreSQL beside graphile-worker and pg-boss";
  const out: Chart[] = [];
  for (const [kind, unit, axis] of [
    ["throughput", "jobs/s", "jobs per second"],
    ["latency", "ms", "milliseconds"],
  ] as const) {
    const mine = panels.filter((p) => p.unit === unit && p.values.length > 0);
    if (mine.length === 0) continue;
    const seen: string[] = [];
    for (const p of mine) for (const v of p.values) if (!seen.includes(v.side)) seen.push(v.side);
    const colors = assignColors(seen);
    const legend = seen.map((side) => {
      const v = mine.flatMap((p) => p.values).find((x) => x.side === side)!;
      const color = colors.get(side)!;
      const cls = classOf(side, v);
      return { series: side, label: cls ? `${v.label ?? side} (${cls})` : (v.label ?? side), color };
    });
    const notes = [
      runs !== null && runs > 1 ? `Bars: median of ${runs} runs; whiskers: min–max of the runs.` : "One run per figure (no range).",
      "Durability classes: volatile; crash-safe = survives a process crash, may lose the last commits on power loss; power-loss-safe.",
      "Compare bars of one class: ratios across classes measure fsync, not the queue.",
    ];
    const fs = fsyncText(results, table);
    out.push({
      name: `${kind}-${key}`,
      svg: barChart({
        title: `${kind === "throughput" ? "Throughput" : "Add-to-start latency"}: ${what}`,
        subtitle: [[machine(results), fs].filter(Boolean).join(" · ")],
        legend,
        panels: mine.map((p) => ({
          title: p.title.length > 52 ? `${p.title.slice(0, 51)}…` : p.title,
          axis: `${axis} (${unit}), ${kind === "throughput" ? "higher" : "lower"} is better`,
          bars: p.values.map((v) => ({ series: v.side, label: v.label ?? v.side, value: v.median, min: v.min, max: v.max, note: classOf(v.side, v) || undefined })),
        })),
        footnotes: notes,
      }),
    });
  }
  return out;
}

function scaleChart(results: Obj, tables: Obj[]): Chart | null {
  const stores = tables.filter((t) => Array.isArray(t.depth));
  if (stores.length === 0) return null;
  const colors = assignColors(stores.map((t) => str(t.store, "store")));
  const series = stores.map((t) => {
    const store = str(t.store, "store");
    const color = colors.get(store)!;
    const depth = (t.depth as unknown[]).filter(isObj);
    const pick = (k: string) => depth.flatMap((d) => (num(d.waiting) !== null && num(d[k]) !== null ? [{ x: num(d.waiting)!, y: num(d[k])! }] : []));
    return { store, color, cls: str(t.durability), drain: pick("drainPerS"), claim: pick("claimP50Ms") };
  });
  const waiting = [...new Set(series.flatMap((s) => s.drain.map((p) => p.x)))].sort((a, b) => a - b);
  return {
    name: "scale",
    svg: lineChart({
      title: "runway at scale: draining with many jobs waiting",
      subtitle: [[machine(results), fsyncText(results, stores[0]!)].filter(Boolean).join(" · "), "runway alone (no peer measured); each point one run"],
      legend: series.map((s) => ({ series: s.store, label: s.cls ? `${s.store} (${s.cls})` : s.store, color: s.color })),
      panels: [
        { title: "drain rate vs jobs waiting", xAxis: "jobs waiting in the queue (log scale)", yAxis: "drain rate (jobs/s)", xLog: true, xTicks: waiting.length > 0 ? waiting : undefined, labelPoints: true, lines: series.map((s) => ({ series: s.store, color: s.color, points: s.drain })) },
        { title: "claim latency p50 vs jobs waiting", xAxis: "jobs waiting in the queue (log scale)", yAxis: "claim p50 (ms)", xLog: true, xTicks: waiting.length > 0 ? waiting : undefined, labelPoints: true, lines: series.map((s) => ({ series: s.store, color: s.color, points: s.claim })) },
      ],
      footnotes: ["drain: concurrency 10, timed over the same number of jobs at every depth; claim: one job per claim, p50."],
    }),
  };
}

function steadyChart(results: Obj, tables: Obj[]): Chart | null {
  const rows = tables.flatMap((t) => (Array.isArray(t.rows) ? t.rows : [])).filter(isObj);
  if (rows.length === 0) return null;
  const keyOf = (r: Obj) => `${str(r.side, "side")}${r.durability ? ` (${str(r.durability)})` : ""}`;
  const keys = [...new Set(rows.map(keyOf))];
  const sideOfKey = keys.map((k) => str(rows.find((r) => keyOf(r) === k)!.side));
  // A side's colour goes to its first key; a second key of one side (another durability) takes its own.
  const names = keys.map((k, i) => (sideOfKey.indexOf(sideOfKey[i]!) < i ? k : sideOfKey[i]!));
  const colors = assignColors(names);
  const colorOf = new Map(keys.map((k, i) => [k, colors.get(names[i]!)!]));
  const loads = [...new Set(rows.map((r) => num(r.load)).filter((x): x is number => x !== null))].sort((a, b) => a - b);
  const lines = (field: string) =>
    keys.map((k) => ({
      series: k,
      color: colorOf.get(k)!,
      points: rows.filter((r) => keyOf(r) === k).flatMap((r) => (num(r.load) !== null && num(r[field]) !== null ? [{ x: num(r.load)! * 100, y: num(r[field])! }] : [])),
    }));
  const wide = (field: string) => {
    const ys = rows.map((r) => num(r[field])).filter((y): y is number => y !== null && y > 0);
    return ys.length > 0 && Math.max(...ys) / Math.min(...ys) > 50;
  };
  const panel = (field: string, what: string): LinePanel => ({
    title: `${what} vs offered load`,
    xAxis: "offered load (% of the side's own drain rate)",
    yAxis: `${what} (ms)`,
    yLog: wide(field),
    xTicks: loads.map((l) => l * 100),
    xFormat: (x) => `${Math.round(x)}%`,
    lines: lines(field),
  });
  return {
    name: "steady",
    svg: lineChart({
      title: "Steady load: add-to-start latency vs offered load",
      subtitle: [[machine(results), fsyncText(results, tables[0]!)].filter(Boolean).join(" · ")],
      legend: keys.map((k) => ({ series: k, label: k, color: colorOf.get(k)! })),
      panels: [panel("p50Ms", "latency p50"), panel("p99Ms", "latency p99")],
      footnotes: ["Jobs added at a fixed rate, a fraction of what the side drains flat out; latency from the add to the handler's start."],
    }),
  };
}

function churnChart(results: Obj, tables: Obj[]): Chart | null {
  const stores = tables.filter((t) => Array.isArray(t.intervals));
  if (stores.length === 0) return null;
  const colors = assignColors(stores.map((t, i) => str(t.store, `store ${i + 1}`)));
  const series = stores.map((t, i) => {
    const store = str(t.store, `store ${i + 1}`);
    const color = colors.get(store)!;
    const iv = (t.intervals as unknown[]).filter(isObj);
    const pick = (k: string, scale = 1) => iv.flatMap((d) => (num(d.atS) !== null && num(d[k]) !== null ? [{ x: num(d.atS)!, y: num(d[k])! * scale }] : []));
    const rate = pick("jobsPerS");
    // The rate the producer offered, flat across the run, when the table records it.
    const offeredPerS = num(t.offeredPerS);
    const offered = offeredPerS !== null && rate.length > 0 ? [{ x: 0, y: offeredPerS }, { x: Math.max(...rate.map((p) => p.x)), y: offeredPerS }] : [];
    return { store, color, cls: str(t.durability), rate, offered, size: pick("tableBytes", 1 / 1048576), dead: pick("deadTuples") };
  });
  const panels: LinePanel[] = [
    {
      title: "throughput over time",
      xAxis: "time since the start (s)",
      yAxis: "jobs/s",
      lines: series.flatMap((s) => [
        { series: s.store, color: s.color, points: s.rate },
        ...(s.offered.length > 0 ? [{ series: `${s.store} offered`, color: s.color, dashed: true, points: s.offered }] : []),
      ]),
    },
    { title: "jobs table size over time", xAxis: "time since the start (s)", yAxis: "table size (MiB)", lines: series.map((s) => ({ series: s.store, color: s.color, points: s.size })) },
  ];
  if (series.some((s) => s.dead.length > 0)) {
    panels.push({ title: "dead tuples over time", xAxis: "time since the start (s)", yAxis: "dead tuples", lines: series.map((s) => ({ series: s.store, color: s.color, points: s.dead })) });
  }
  return {
    name: "churn",
    svg: lineChart({
      title: "Churn: throughput and table size over a long run",
      subtitle: [[machine(results), fsyncText(results, stores[0]!)].filter(Boolean).join(" · ")],
      legend: series.flatMap((s) => [
        { series: s.store, label: s.cls ? `${s.store} (${s.cls})` : s.store, color: s.color },
        ...(s.offered.length > 0 ? [{ series: `${s.store} offered`, label: `${s.store}: rate offered`, color: s.color, dashed: true }] : []),
      ]),
      panels,
    }),
  };
}

/** The charts a results object holds data for, in a fixed order. */
export function chartsFor(results: unknown): Chart[] {
  if (!isObj(results)) throw new Error("a results file holds one JSON object: { environment, config, tables }");
  const tables = (Array.isArray(results.tables) ? results.tables : []).filter(isObj);
  const named = (name: string) => tables.filter((t) => t.table === name);
  const out: Chart[] = [];
  for (const key of ["sqlite", "postgresql"] as const) for (const t of named(key)) out.push(...comparedCharts(results, t, key));
  for (const c of [scaleChart(results, named("scale")), steadyChart(results, named("steady")), churnChart(results, named("churn"))]) if (c) out.push(c);
  return out;
}
