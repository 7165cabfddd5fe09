// The runway dashboard: ES modules with no build step and no framework, served by runway under
// its CSP (scripts from this server only). This entry picks the view for the address, keeps the
// event stream and the clock running, and makes the topbar's links scroll to their section.
// lib/vocabulary.js is not a file here: the server makes it from src/core's constants.
import { startClock } from "./lib/clock.js";
import { clear } from "./lib/dom.js";
import { connectLive } from "./lib/live.js";
import { overviewHref, parseHash } from "./lib/routes.js";
import { jobView } from "./views/job.js";
import { overview } from "./views/overview.js";

/** The view on screen: { refresh, onEvent, leave }. */
let current = null;

function route() {
  const { path, query } = parseHash();
  current?.leave();
  const main = clear(document.getElementById("view"));
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) {
    current = jobView(main, decodeURIComponent(job[1]));
    document.body.dataset.view = "job";
  } else {
    current = overview(main, query);
    document.body.dataset.view = "overview";
  }
  window.scrollTo(0, 0);
}

/** The topbar's sections are on the overview: from a job's page, go back there first. */
function scrollToSection(section) {
  const go = () => document.getElementById(section)?.scrollIntoView({ behavior: "smooth", block: "start" });
  if (document.body.dataset.view !== "overview") {
    location.hash = overviewHref();
    requestAnimationFrame(go);
  } else go();
}

for (const a of document.querySelectorAll("[data-scroll]")) {
  a.addEventListener("click", (e) => {
    e.preventDefault();
    scrollToSection(a.dataset.scroll);
  });
}

startClock();
route();
window.addEventListener("hashchange", route);
connectLive({
  onHello: () => current?.refresh(),
  onEvent: (type, data) => current?.onEvent(type, data),
});
