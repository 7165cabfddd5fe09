// The targets card: each remote machine, whether it answered when last checked, and its jobs.
import { listTargets } from "../lib/api.js";
import { ago } from "../lib/clock.js";
import { h } from "../lib/dom.js";
import { listCard } from "./list-card.js";

function reachability(t) {
  const state = t.reachable === true ? "ok" : t.reachable === false ? "bad" : "unknown";
  const label = t.reachable === true ? "reachable" : t.reachable === false ? "unreachable" : "not checked";
  return h("td", { class: "reach" }, h("span", { class: `dot ${state}`, "aria-hidden": "true" }), h("span", {}, label), t.message ? h("div", { class: "sub", title: t.message }, t.message) : null);
}

function targetRow(t) {
  const c = t.counts ?? {};
  return h(
    "tr",
    { "data-testid": `target-row-${t.name}`, "data-reachable": String(t.reachable) },
    h("th", { scope: "row" }, t.name),
    reachability(t),
    h("td", {}, h("code", {}, `${t.host}${t.port ? `:${t.port}` : ""}`), h("div", { class: "sub" }, t.dir)),
    h("td", {}, `${c.running ?? 0} running, ${c.queued ?? 0} queued`, h("div", { class: "sub" }, `limit ${t.concurrency}`)),
    h("td", {}, ago(t.checkedAt)),
  );
}

export function targetsSection() {
  return listCard({
    id: "targets",
    title: "Targets",
    testid: "targets-table",
    columns: ["Target", "Reachable", "Host", "Jobs", "Checked"],
    emptyText: "No remote targets. runway target add lab user@host adds one.",
    fetchRows: async () => (await listTargets()).targets,
    row: targetRow,
  });
}
