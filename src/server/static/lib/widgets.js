// The pieces every view is built of, styled by app.css.
import { h } from "./dom.js";

/** A titled section of the page; its id is what the topbar's links scroll to. */
export function card(id, title, ...body) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` }, h("div", { class: "card-head" }, h("h2", { id: `${id}-title` }, title)), ...body);
}

/** A wide table scrolls in its own box, so the page never scrolls sideways on a phone. */
export function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

/** A table's header row of plain column titles. */
export function plainHead(titles) {
  return h("thead", {}, h("tr", {}, titles.map((t) => h("th", { scope: "col" }, t))));
}

/** A job's status (or an attempt's outcome) as a coloured word. */
export function badge(status, extra = {}) {
  return h("span", { class: `badge status-${status}`, "data-status": status, ...extra }, status);
}
