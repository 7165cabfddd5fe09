// The job list's filters: queue, search, order and statuses. They live in the address (#/?queue=…)
// so a reload or a shared link shows the same list.
import { clear, h } from "../lib/dom.js";
import { rememberOverviewQuery } from "../lib/routes.js";
import { coalesce } from "../lib/schedule.js";
import { JOB_ORDERS, JOB_STATUSES } from "../lib/vocabulary.js";

const DEFAULT_ORDER = JOB_ORDERS[0].order;

function filtersFrom(query) {
  const order = query.get("order");
  return {
    queue: query.get("queue") ?? "",
    statuses: new Set((query.get("status") ?? "").split(",").filter((x) => JOB_STATUSES.includes(x))),
    search: query.get("search") ?? "",
    order: JOB_ORDERS.some((o) => o.order === order) ? order : DEFAULT_ORDER,
  };
}

/** The filters as the address's query; the default order is left out. */
function queryOf(filters) {
  const q = new URLSearchParams();
  if (filters.queue) q.set("queue", filters.queue);
  if (filters.statuses.size) q.set("status", [...filters.statuses].join(","));
  if (filters.search) q.set("search", filters.search);
  if (filters.order !== DEFAULT_ORDER) q.set("order", filters.order);
  return q.toString();
}

function statusChip(status, checked, toggled) {
  const box = h("input", { type: "checkbox", value: status, checked, "data-testid": `filter-status-${status}` });
  box.addEventListener("change", () => toggled(status, box.checked));
  return h("label", { class: `chip status-${status}` }, box, h("span", {}, status));
}

/** The form's controls, each calling set(change) when the user changes it. */
function controls(filters, set) {
  const queueSelect = h("select", { "data-testid": "filter-queue", "aria-label": "Queue", on: { change: () => set({ queue: queueSelect.value }) } });
  const searchInput = h("input", {
    type: "search",
    placeholder: "Search name or command",
    "aria-label": "Search jobs by name or command",
    "data-testid": "filter-search",
    value: filters.search,
  });
  const searchLater = coalesce(async () => set({ search: searchInput.value.trim() }), 300, 1500);
  searchInput.addEventListener("input", () => searchLater());
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") searchLater(true);
  });
  const orderSelect = h(
    "select",
    { "data-testid": "filter-order", "aria-label": "Order", on: { change: () => set({ order: orderSelect.value }) } },
    JOB_ORDERS.map(({ order, label }) => h("option", { value: order, selected: filters.order === order }, label)),
  );
  const toggled = (status, on) => {
    const statuses = new Set(filters.statuses);
    if (on) statuses.add(status);
    else statuses.delete(status);
    set({ statuses });
  };
  const chips = JOB_STATUSES.map((st) => statusChip(st, filters.statuses.has(st), toggled));
  const clearButton = h("button", { type: "button", class: "link", "data-testid": "filter-clear", on: { click: () => set({ queue: "", statuses: new Set(), search: "" }) } }, "clear filters");
  return { queueSelect, searchInput, searchLater, orderSelect, chips, clearButton };
}

/**
 * The filter form, read from the address's query. changed() runs after every change the user
 * makes (or set() makes for them); filters is the live state it reads.
 */
export function jobFilters(query, changed) {
  const filters = filtersFrom(query);
  let queueNames = [];
  const c = controls(filters, (change) => set(change));

  function fillQueueSelect() {
    const names = [...queueNames];
    if (filters.queue && !names.includes(filters.queue)) names.push(filters.queue);
    const have = [...c.queueSelect.options].map((o) => o.value).join("\n");
    if (have !== ["", ...names].join("\n")) {
      clear(c.queueSelect).append(h("option", { value: "" }, "All queues"), ...names.map((n) => h("option", { value: n }, n)));
    }
    c.queueSelect.value = filters.queue;
  }

  function syncHash() {
    const query = queryOf(filters);
    rememberOverviewQuery(query);
    // replaceState: a filter is not a page of its own for the back button, and no hashchange fires.
    history.replaceState(null, "", `#/${query ? `?${query}` : ""}`);
  }

  function set(change) {
    Object.assign(filters, change);
    for (const label of c.chips) {
      const box = label.querySelector("input");
      box.checked = filters.statuses.has(box.value);
    }
    if (c.searchInput.value.trim() !== filters.search && document.activeElement !== c.searchInput) c.searchInput.value = filters.search;
    c.orderSelect.value = filters.order;
    fillQueueSelect();
    syncHash();
    changed();
  }

  syncHash();
  fillQueueSelect();
  return {
    filters,
    element: h(
      "form",
      { class: "filters", role: "search", on: { submit: (e) => e.preventDefault() } },
      h("div", { class: "filter-row" }, c.queueSelect, c.searchInput, c.orderSelect, c.clearButton),
      h("div", { class: "filter-row chips", role: "group", "aria-label": "Statuses" }, c.chips),
    ),
    set,
    setQueueNames(names) {
      queueNames = names;
      fillQueueSelect();
    },
    leave: () => c.searchLater.cancel(),
  };
}
