// The dashboard's addresses live in the hash: #/ (with filters as a query) and #/jobs/<id>.

/** The overview's filters as last set, so links back to it keep them. */
let overviewQuery = "";

export function rememberOverviewQuery(query) {
  overviewQuery = query;
}

export function overviewHref() {
  return `#/${overviewQuery ? `?${overviewQuery}` : ""}`;
}

export function queueHref(queue) {
  return `#/?queue=${encodeURIComponent(queue)}`;
}

export function jobHref(id) {
  return `#/jobs/${encodeURIComponent(id)}`;
}

export function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const q = hash.indexOf("?");
  const path = q < 0 ? hash : hash.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  return { path, query };
}
