/**
 * The job lifecycle, once: pure functions that take a job as stored and a request and return a
 * plan (the fields that change, the attempt to record, what happens downstream, an escalation's
 * successor) or refuse with the message a person sees. Stores apply plans; they decide nothing.
 */
export * from "./plan.js";
export * from "./finish.js";
export * from "./steer.js";
export * from "./add.js";
