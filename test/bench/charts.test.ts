import { describe, expect, it } from "vitest";
import { type Bar, barAxis, barChart, chartsFor, compact, lineChart, wrap } from "../../bench/src/charts.js";

interface Tag {
  name: string;
  attrs: Record<string, string>;
  /** The characters between this tag and the next one. */
  after: string;
}

/**
 * A small, strict reader for the SVG the charts write: every tag fully matched with quoted
 * attributes, every tag closed in order, one root, no stray angle brackets or ampersands.
 */
function parse(svg: string): { root: Tag; tags: Tag[]; texts: string[] } {
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;
  const tags: Tag[] = [];
  const stack: string[] = [];
  const texts: string[] = [];
  let at = 0;
  let roots = 0;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(svg))) {
    const between = svg.slice(at, m.index);
    expect(between, `stray markup before <${m[2]}> at ${m.index}`).not.toMatch(/[<>]/);
    expect(between.replace(/&(amp|lt|gt|quot|apos);/g, ""), "bare & in text").not.toContain("&");
    if (stack.at(-1) === "text" || stack.at(-1) === "title") texts.push(unescape(between));
    at = m.index + m[0].length;
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      expect(stack.pop(), `</${name}> closes the wrong tag`).toBe(name);
      continue;
    }
    if (stack.length === 0) roots++;
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      expect(attrs[a[1]!], `attribute ${a[1]} twice on <${name}>`).toBeUndefined();
      attrs[a[1]!] = unescape(a[2]!);
    }
    tags.push({ name: name!, attrs, after: "" });
    if (!selfClosing) stack.push(name!);
  }
  expect(svg.slice(at).trim(), "text after the root").toBe("");
  expect(stack, "tags left open").toEqual([]);
  expect(roots).toBe(1);
  expect(tags[0]!.name).toBe("svg");
  return { root: tags[0]!, tags, texts };
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

function bars(svg: string): { series: string; value: number; y: number; height: number; broken: boolean; panel: number }[] {
  // The panel a bar is in: the nearest <g class="panel"> opened before it.
  const out: { series: string; value: number; y: number; height: number; broken: boolean; panel: number }[] = [];
  let panel = -1;
  for (const t of parse(svg).tags) {
    if (t.name === "g" && t.attrs.class === "panel") panel = Number(t.attrs["data-panel"]);
    if (t.name === "rect" && t.attrs.class === "bar") {
      out.push({
        series: t.attrs["data-series"]!,
        value: Number(t.attrs["data-value"]),
        y: Number(t.attrs.y),
        height: Number(t.attrs.height),
        broken: t.attrs["data-broken"] === "true",
        panel,
      });
    }
  }
  return out;
}

const legend = [
  { series: "runway", label: "runway NORMAL (crash-safe)", color: "#0072B2" },
  { series: "runway-full", label: "runway FULL (power-loss-safe)", color: "#56B4E9" },
  { series: "bullmq", label: "BullMQ (volatile)", color: "#D55E00" },
];

const throughput: Bar[] = [
  { series: "runway", label: "runway NORMAL", value: 57_499, min: 56_396, max: 59_141, note: "crash-safe" },
  { series: "runway-full", label: "runway FULL", value: 12_000, min: 11_000, max: 12_500, note: "power-loss-safe" },
  { series: "bullmq", label: "BullMQ", value: 20_644, min: 20_000, max: 21_000, note: "volatile" },
];

describe("bar charts", () => {
  const svg = barChart({
    title: "Throughput: runway & BullMQ <SQLite>",
    subtitle: ["AMD EPYC × 2 · Node v20"],
    legend,
    panels: [
      { title: "drain 20,000 jobs, concurrency 10", axis: "jobs per second (jobs/s)", bars: throughput },
      { title: "single add", axis: "jobs per second (jobs/s)", bars: throughput.map((b) => ({ ...b, value: b.value / 7, min: b.min! / 7, max: b.max! / 7 })) },
    ],
    footnotes: ["Bars: median of 5 runs; whiskers: min–max of the runs."],
  });

  it("is one well-formed standalone SVG with a viewBox, a white background and a title", () => {
    const { root, tags, texts } = parse(svg);
    expect(root.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    const [x, y, w, h] = root.attrs.viewBox!.split(" ").map(Number);
    expect([x, y]).toEqual([0, 0]);
    expect(w).toBe(Number(root.attrs.width));
    expect(h).toBe(Number(root.attrs.height));
    expect(root.attrs["font-family"]).toMatch(/system-ui/);
    const background = tags.find((t) => t.name === "rect")!;
    expect(background.attrs).toMatchObject({ x: "0", y: "0", width: String(w), height: String(h), fill: "#ffffff" });
    expect(texts).toContain("Throughput: runway & BullMQ <SQLite>");
    // Everything drawn lies inside the view box.
    for (const t of tags.filter((t) => t.name === "text")) {
      expect(Number(t.attrs.y)).toBeLessThanOrEqual(h!);
      expect(Number(t.attrs.x)).toBeLessThanOrEqual(w!);
    }
  });

  it("names every side under its bars and in the legend, with its class and its median", () => {
    const { texts } = parse(svg);
    for (const e of legend) expect(texts).toContain(e.label);
    for (const b of throughput) {
      expect(texts.filter((t) => t === b.label)).toHaveLength(2);
      expect(texts).toContain(b.note);
    }
    expect(texts).toContain("57.5k");
    expect(texts).toContain("20.6k");
  });

  it("draws bars from one baseline with heights proportional to their values", () => {
    const all = bars(svg);
    expect(all).toHaveLength(6);
    for (const panel of [0, 1]) {
      const mine = all.filter((b) => b.panel === panel);
      expect(mine.map((b) => b.series)).toEqual(["runway", "runway-full", "bullmq"]);
      const scale = mine[0]!.height / mine[0]!.value;
      for (const b of mine) {
        expect(b.broken).toBe(false);
        expect(b.height / b.value).toBeCloseTo(scale, 4);
        expect(b.y + b.height).toBeCloseTo(mine[0]!.y + mine[0]!.height, 2);
      }
      // The tallest bar fills most of the plot: the axis is not stretched far past the data.
      expect(Math.max(...mine.map((b) => b.height))).toBeGreaterThan(150);
    }
  });

  it("puts each whisker at the run range on the bar's own scale", () => {
    const { tags } = parse(svg);
    const b = bars(svg).filter((x) => x.panel === 0);
    const base = b[0]!.y + b[0]!.height;
    const scale = b[0]!.height / b[0]!.value;
    const whiskers = tags.filter((t) => t.name === "g" && t.attrs.class === "whisker").slice(0, 3);
    whiskers.forEach((w, i) => {
      expect(Number(w.attrs["data-min"])).toBe(throughput[i]!.min);
      expect(Number(w.attrs["data-max"])).toBe(throughput[i]!.max);
      const line = tags[tags.indexOf(w) + 1]!;
      expect(base - Number(line.attrs.y1)).toBeCloseTo(throughput[i]!.min! * scale, 1);
      expect(base - Number(line.attrs.y2)).toBeCloseTo(throughput[i]!.max! * scale, 1);
    });
  });

  it("breaks a bar that dwarfs the others rather than flattening them", () => {
    const latency: Bar[] = [
      { series: "runway-pg", label: "runway-pg", value: 1.9, min: 1.85, max: 1.95 },
      { series: "graphile", label: "graphile-worker", value: 1.7 },
      { series: "pgboss", label: "pg-boss", value: 498 },
    ];
    expect(barAxis(latency).top).toBeLessThan(3);
    const b = bars(barChart({ title: "latency", legend: [], panels: [{ title: "p50", axis: "ms", bars: latency }] }));
    expect(b.map((x) => x.broken)).toEqual([false, false, true]);
    expect(b[0]!.height / 1.9).toBeCloseTo(b[1]!.height / 1.7, 4);
    expect(b[2]!.height).toBeGreaterThan(b[0]!.height);
    expect(b[0]!.height).toBeGreaterThan(100);
  });
});

describe("line charts", () => {
  it("places points by value, on a log x axis when asked", () => {
    const svg = lineChart({
      title: "scale",
      legend: [{ series: "SQLite", label: "SQLite", color: "#0072B2" }],
      panels: [
        {
          title: "drain",
          xAxis: "jobs waiting",
          yAxis: "jobs/s",
          xLog: true,
          lines: [{ series: "SQLite", color: "#0072B2", points: [{ x: 1_000, y: 40_000 }, { x: 100_000, y: 30_000 }, { x: 1_000_000, y: 10_000 }] }],
        },
      ],
    });
    const points = parse(svg).tags.filter((t) => t.name === "circle");
    expect(points).toHaveLength(3);
    const cx = points.map((p) => Number(p.attrs.cx));
    const cy = points.map((p) => Number(p.attrs.cy));
    // 1k → 100k is two decades, 100k → 1M one.
    expect(cx[1]! - cx[0]!).toBeCloseTo(2 * (cx[2]! - cx[1]!), 1);
    expect(cy[0]!).toBeLessThan(cy[1]!);
    expect(cy[1]!).toBeLessThan(cy[2]!);
    // Linear y from zero: the drop from 40k to 30k is half the drop from 30k to 10k.
    expect(cy[1]! - cy[0]!).toBeCloseTo((cy[2]! - cy[1]!) / 2, 1);
  });
});

describe("charts from a results file", () => {
  const v = (side: string, label: string, durability: string, median: number, unit = "jobs/s") => ({
    side,
    label,
    store: "x",
    durability,
    unit,
    runs: [median * 0.98, median, median * 1.01],
    median,
    min: median * 0.98,
    max: median * 1.01,
  });
  const results = {
    environment: { cpu: "AMD EPYC", cores: 2, node: "v20.20.2", fsyncMs: { p50: 0.133, p99: 0.4, samples: 200 } },
    config: { mode: "full", runs: 3 },
    tables: [
      {
        table: "sqlite",
        sides: [{ side: "runway", label: "runway NORMAL", durability: "crash-safe" }],
        figures: [
          { id: "single-add", label: "single add", unit: "jobs/s", values: [v("runway", "runway NORMAL", "crash-safe", 25_000), v("bullmq", "BullMQ", "volatile", 7_000)] },
          { id: "latency-p50", label: "latency p50", unit: "ms", values: [v("runway", "runway NORMAL", "crash-safe", 0.18, "ms"), v("bullmq", "BullMQ", "volatile", 0.3, "ms")] },
        ],
      },
      {
        table: "postgresql",
        figures: [
          { id: "pg-drain-c24", label: "drain", unit: "jobs/s", values: [v("runway-pg", "runway-pg", "power-loss-safe", 27_000), v("graphile", "graphile-worker", "power-loss-safe", 38_000)] },
          { id: "pg-drain-c24-graphile-defaults", label: "same, at its defaults", unit: "jobs/s", values: [v("graphile-default", "graphile-worker defaults", "power-loss-safe", 3_500)] },
        ],
      },
      { table: "scale", store: "SQLite", durability: "crash-safe", depth: [{ waiting: 1000, drainPerS: 30000, claimP50Ms: 0.1 }, { waiting: 1_000_000, drainPerS: 20000, claimP50Ms: 0.2 }] },
      {
        table: "steady",
        rows: [0.25, 0.5, 0.75].flatMap((load) => [
          { side: "runway", durability: "crash-safe", load, offeredPerS: load * 40_000, achievedPerS: load * 40_000, p50Ms: 0.3 + load, p99Ms: 2 + load * 4, p999Ms: 9, maxMs: 20, backlogEnd: 0 },
          { side: "bullmq", durability: "volatile", load, offeredPerS: load * 20_000, achievedPerS: load * 20_000, p50Ms: 0.5 + load, p99Ms: 3 + load, p999Ms: 9, maxMs: 20, backlogEnd: 0 },
        ]),
      },
      { table: "churn", store: "PostgreSQL", offeredPerS: 5000, intervals: [0, 60, 120].map((atS) => ({ atS, jobsPerS: 5000 - atS, tableBytes: 1048576 * (10 + atS / 10), deadTuples: atS * 100, liveRows: 1000 })) },
      { table: "remote", gapP50: { median: 485 } },
    ],
  };

  it("draws each table it knows, and nothing for the others", () => {
    const charts = chartsFor(results);
    expect(charts.map((c) => c.name)).toEqual(["throughput-sqlite", "latency-sqlite", "throughput-postgresql", "scale", "steady", "churn"]);
    for (const c of charts) parse(c.svg);
  });

  it("labels every side with its class, and the defaults rows join the figure they repeat", () => {
    const charts = Object.fromEntries(chartsFor(results).map((c) => [c.name, c.svg]));
    const sqlite = parse(charts["throughput-sqlite"]!).texts;
    expect(sqlite).toContain("runway NORMAL (crash-safe)");
    expect(sqlite).toContain("BullMQ (volatile)");
    expect(bars(charts["throughput-sqlite"]!).map((b) => [b.series, b.value])).toEqual([
      ["runway", 25_000],
      ["bullmq", 7_000],
    ]);
    const pg = bars(charts["throughput-postgresql"]!);
    expect(pg.map((b) => b.series)).toEqual(["runway-pg", "graphile", "graphile-default"]);
    expect(new Set(pg.map((b) => b.panel)).size).toBe(1);
    const steady = parse(charts.steady!).texts;
    expect(steady).toContain("runway (crash-safe)");
    expect(steady).toContain("bullmq (volatile)");
    expect(steady).toContain("75%");
    expect(parse(charts.churn!).texts).toContain("table size (MiB)");
    expect(parse(charts.churn!).texts).toContain("PostgreSQL: rate offered");
  });

  it("refuses what is not a results object", () => {
    expect(() => chartsFor([])).toThrow(/one JSON object/);
  });
});

describe("helpers", () => {
  it("writes short numbers and wraps labels", () => {
    expect(compact(57_499)).toBe("57.5k");
    expect(compact(1_000_000)).toBe("1M");
    expect(compact(2_217)).toBe("2,217");
    expect(compact(0.18)).toBe("0.18");
    expect(wrap("graphile-worker defaults", 16)).toEqual(["graphile-worker", "defaults"]);
  });
});
