// The overview (#/): queues, the last hour, targets, cron schedules and the jobs, each a section
// that loads itself; this module lays them out and decides which events refresh which.
import { h } from "../lib/dom.js";
import { everyWhileVisible } from "../lib/schedule.js";
import { toastOnce } from "../lib/toast.js";
import { activitySection } from "./activity.js";
import { cronsSection } from "./crons.js";
import { jobsSection } from "./jobs.js";
import { queuesSection } from "./queues.js";
import { targetsSection } from "./targets.js";

export function overview(main, query) {
  const jobs = jobsSection(query);
  const queues = queuesSection({ showJobs: jobs.show, onQueues: (list) => jobs.setQueueNames(list.map((q) => q.queue)) });
  const activity = activitySection();
  const targets = targetsSection();
  const crons = cronsSection();
  const sections = [queues, jobs, activity, targets, crons];

  main.append(
    queues.element,
    h("div", { class: "grid" }, activity.element, h("div", { class: "stack" }, targets.element, crons.element)),
    jobs.element,
  );

  // Reachability and cron ticks change without job events; the rest is a safety net.
  const stopSlow = everyWhileVisible(15_000, () => {
    activity.refresh();
    targets.refresh();
    crons.refresh();
  });
  const stopSafety = everyWhileVisible(10_000, () => {
    queues.refresh();
    jobs.refresh();
  });
  for (const section of sections) section.load().catch((e) => toastOnce(e.message));

  return {
    refresh() {
      for (const section of sections) section.refresh();
    },
    onEvent(type) {
      if (type === "log" || type === "progress") return;
      queues.refresh();
      if (type === "queue" || type === "drained") return;
      jobs.refresh();
      if (type === "completed" || type === "failed") activity.refresh();
    },
    leave() {
      stopSlow();
      stopSafety();
      for (const section of sections) section.leave();
    },
  };
}
