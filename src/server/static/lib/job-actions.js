// Which steering a job's status allows, in core's own status sets: a button shown here is one
// the store accepts (unless the job changed meanwhile, and then the store says why).
import { ACTIVE_STATUSES, DOOMED_STATUSES, WAITING_STATUSES } from "./vocabulary.js";

const waiting = new Set(WAITING_STATUSES);
const active = new Set(ACTIVE_STATUSES);
const doomed = new Set(DOOMED_STATUSES);

/** Moving in its queue and skipping: only before a worker claims it. */
export const canMove = (job) => waiting.has(job.status);
export const canSkip = (job) => waiting.has(job.status);
export const canCancel = (job) => active.has(job.status);
/** Back into its queue with fresh attempts (the API's retry). */
export const canRetry = (job) => doomed.has(job.status);
