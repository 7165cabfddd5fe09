/**
 * The dashboard's words for jobs and queues, served to the browser as an ES module. The status
 * sets, queue states and priorities are core's own constants, written out when the server starts,
 * so the page can never offer an action the store would refuse for a status it does not know.
 */
import {
  ACTIVE_STATUSES,
  DOOMED_STATUSES,
  FINISHED_STATUSES,
  JOB_STATUSES,
  QUEUE_STATES,
  type QueueState,
  WAITING_STATUSES,
} from "../core/job.js";
import { PRIORITIES } from "../core/priority.js";
import type { JobListParams } from "../runtime/runway.js";

/** The dashboard's modules import it from lib/ like their other helpers; static/ holds no such file. */
export const VOCABULARY_PATH = "/lib/vocabulary.js";

type JobOrder = NonNullable<JobListParams["order"]>;

/** The job list's orders as the dashboard names them; the first is its default. */
const JOB_ORDERS = Object.entries({
  recent: "Newest first",
  queue: "Queue order",
  added: "Oldest first",
  finished: "By end time",
} satisfies Record<JobOrder, string>).map(([order, label]) => ({ order, label }));

/** The queue buttons: the state each leads to, and the states it makes sense from. */
const QUEUE_ACTIONS = [
  { action: "pause", becomes: "paused", from: ["running"], title: "No new jobs start; running ones finish" },
  { action: "resume", becomes: "running", from: ["paused", "stopped"], title: "Start jobs again" },
  { action: "stop", becomes: "stopped", from: ["running", "paused"], title: "Pause, and put running jobs back in the queue" },
] satisfies { action: string; becomes: QueueState; from: QueueState[]; title: string }[];

/** Everything the module exports, by name. */
export const VOCABULARY = {
  JOB_STATUSES,
  ACTIVE_STATUSES,
  WAITING_STATUSES,
  FINISHED_STATUSES,
  DOOMED_STATUSES,
  QUEUE_STATES,
  PRIORITIES,
  JOB_ORDERS,
  QUEUE_ACTIONS,
};

/** The module's text: one frozen constant per entry, as JSON, which is valid JavaScript. */
export function vocabularyModule(): string {
  const lines = Object.entries(VOCABULARY).map(([name, value]) => `export const ${name} = deepFreeze(${JSON.stringify(value)});`);
  return [
    "// Made by the runway server from src/core when it starts (src/server/vocabulary.ts); not a file to edit.",
    "function deepFreeze(v) {",
    "  if (v && typeof v === \"object\") for (const x of Object.values(Object.freeze(v))) deepFreeze(x);",
    "  return v;",
    "}",
    ...lines,
    "",
  ].join("\n");
}
