import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { JOB_STATUSES } from "../core/job.js";
import type { Runway } from "../runtime/runway.js";
import type { EventFeed } from "./event-feed.js";

/**
 * Prometheus metrics: jobs by queue and status (read through the runway at each scrape), attempt
 * durations and ends counted from the event feed since this server started, and the workers
 * holding running jobs.
 */
export function createMetrics(rw: Runway, feed: EventFeed): Registry {
  const registry = new Registry();
  new Gauge({
    name: "runway_jobs",
    help: "Jobs by queue and status",
    labelNames: ["queue", "status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await rw.stats()) {
        for (const status of JOB_STATUSES) this.set({ queue: s.queue, status }, s.counts[status]);
      }
    },
  });
  new Gauge({
    name: "runway_workers",
    help: "Workers holding running jobs",
    registers: [registry],
    collect() {
      this.set(feed.workers);
    },
  });
  const duration = new Histogram({
    name: "runway_attempt_duration_seconds",
    help: "Duration of attempts that ended, by queue and outcome",
    labelNames: ["queue", "outcome"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600],
    registers: [registry],
  });
  const completed = new Counter({ name: "runway_jobs_completed_total", help: "Jobs completed", labelNames: ["queue"], registers: [registry] });
  const failed = new Counter({ name: "runway_jobs_failed_total", help: "Jobs failed for good", labelNames: ["queue"], registers: [registry] });
  feed.subscribe((e) => {
    if (e.type === "completed" || e.type === "failed") {
      (e.type === "completed" ? completed : failed).inc({ queue: e.job.queue });
      if (e.durationMs !== null) duration.observe({ queue: e.job.queue, outcome: e.type }, e.durationMs / 1000);
    }
  });
  return registry;
}
