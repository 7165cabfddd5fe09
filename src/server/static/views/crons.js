// The cron schedules card: each schedule and when it next adds a job.
import { listCrons } from "../lib/api.js";
import { ago } from "../lib/clock.js";
import { h } from "../lib/dom.js";
import { listCard } from "./list-card.js";

function cronRow(c) {
  return h(
    "tr",
    { "data-testid": `cron-row-${c.name}` },
    h("th", { scope: "row" }, c.name),
    h("td", {}, h("code", {}, c.pattern), c.timezone ? h("div", { class: "sub" }, c.timezone) : null),
    h("td", {}, c.queue),
    h("td", {}, c.kind),
    h("td", {}, c.nextAt ? ago(c.nextAt) : h("span", { class: "muted" }, "none left")),
  );
}

export function cronsSection() {
  return listCard({
    id: "crons",
    title: "Cron schedules",
    testid: "crons-table",
    columns: ["Name", "Pattern", "Queue", "Kind", "Next tick"],
    emptyText: "No cron schedules.",
    fetchRows: async () => (await listCrons()).crons,
    row: cronRow,
  });
}
