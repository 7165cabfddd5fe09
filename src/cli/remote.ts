import type { Job } from "../core/job.js";
import type { TargetClient } from "../executors/ssh/target-client.js";
import type { Runway } from "../runtime/runway.js";
import { home } from "./context.js";

/**
 * A client for the target a job ran on; null when the job has no run on a target. The shared
 * connection it may start is left up (ControlPersist ends it when idle): a worker may be using it.
 */
export async function withJobTarget<T>(rw: Runway, job: Job, fn: (client: TargetClient, runId: string) => Promise<T>): Promise<T | null> {
  if (!job.target || !job.remote) return null;
  const target = await rw.getTarget(job.target);
  if (!target) return null;
  const { targetClient } = await import("../runtime/target-lanes.js");
  const client = targetClient(target, { home: home() });
  return fn(client, job.remote.runId);
}
