// A card whose table is made again from scratch on every load: for short lists with no controls
// in their rows, where keeping rows would buy nothing.
import { clear, h } from "../lib/dom.js";
import { coalesce } from "../lib/schedule.js";
import { card, plainHead, tableWrap } from "../lib/widgets.js";

export function listCard({ id, title, testid, columns, emptyText, fetchRows, row }) {
  let stopped = false;
  const body = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, emptyText);
  const table = h("table", { "data-testid": testid }, plainHead(columns), body);

  async function load() {
    const rows = await fetchRows();
    if (stopped) return;
    clear(body).append(...rows.map(row));
    empty.hidden = rows.length > 0;
    table.hidden = rows.length === 0;
  }
  const refresh = coalesce(load, 0, 0);

  return {
    element: card(id, title, tableWrap(table), empty),
    load,
    refresh,
    leave() {
      stopped = true;
      refresh.cancel();
    },
  };
}
