import { hostname } from "node:os";
import type { Job } from "../core/job.js";
import type { Target } from "../core/target.js";
import { SshConnection } from "../executors/ssh/connection.js";
import { remoteHandler } from "../executors/ssh/remote-handler.js";
import { RunWatcher } from "../executors/ssh/run-watcher.js";
import { TargetClient } from "../executors/ssh/target-client.js";
import type { Runway } from "./runway.js";
import type { Worker } from "./worker.js";

export interface LaneOptions {
  /** RUNWAY_HOME: known hosts and the kept ends of remote logs live there. */
  home: string;
  /** An ssh_config file in place of ~/.ssh/config; default RUNWAY_SSH_CONFIG. */
  sshConfig?: string | null;
  queues?: string[];
  leaseMs?: number;
  /** How often the store is asked for targets added, changed or removed. Default 5 s. */
  refreshMs?: number;
}

/** One connection, client and watcher per target, shared by everything in this process that talks to it. */
export function targetClient(target: Target, opts: { home: string; sshConfig?: string | null }): TargetClient {
  const conn = new SshConnection({ host: target.host, port: target.port, identity: target.identity }, { home: opts.home, ...(opts.sshConfig !== undefined ? { configFile: opts.sshConfig } : {}) });
  return new TargetClient(target, conn);
}

/**
 * Cancels a job; one running on a target is also stopped there (TERM, then KILL), so it stops
 * even when no worker is watching it. Its worker does the same when it notices; twice is
 * harmless. `remote` settles when the server has answered (or failed to).
 */
export async function cancelJob(
  rw: Runway,
  id: string,
  opts: { home: string; sshConfig?: string | null },
): Promise<{ job: Job; remote: Promise<void> }> {
  const job = await rw.cancel(id);
  if (job.status !== "running" || !job.target || !job.remote) return { job, remote: Promise.resolve() };
  const runId = job.remote.runId;
  const remote = rw.store.targetGet({ name: job.target }).then(async (t) => {
    if (t) await targetClient(t, opts).cancel(runId, 5);
  });
  return { job, remote };
}

/** Whether a target answers, with backoff between tries while it does not; reported to the store on each change. */
class Reach {
  private failures = 0;
  private holdUntil = 0;
  private last: boolean | null = null;

  constructor(
    private readonly rw: Runway,
    private readonly name: string,
  ) {}

  open = (): boolean => Date.now() >= this.holdUntil;

  contact(ok: boolean, message: string | null): void {
    if (ok) {
      this.failures = 0;
      this.holdUntil = 0;
    } else {
      this.failures++;
      this.holdUntil = Date.now() + Math.min(60_000, 1000 * 2 ** Math.min(this.failures - 1, 6));
    }
    if (ok === this.last) return;
    const was = this.last;
    this.last = ok;
    if (!ok) this.rw.emit("warning", { message: `target ${this.name}: ${message}; its jobs stay queued, retrying with backoff` });
    else if (was === false) this.rw.emit("warning", { message: `target ${this.name}: reachable again` });
    void this.rw.store.targetReport({ name: this.name, reachable: ok, message }).catch(() => undefined);
  }

  /** Full on the server's count: hold for a moment, without calling it unreachable. */
  hold(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, Date.now() + ms);
  }
}

interface Lane {
  target: Target;
  worker: Worker;
  client: TargetClient;
}

/**
 * A lane per target: a worker that claims only that target's jobs, within the target's limit
 * (the store counts running jobs across every worker and machine), and runs them there. New,
 * changed and removed targets are picked up as the store is polled.
 */
export class TargetLanes {
  private readonly lanes = new Map<string, Lane>();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** One refresh at a time: two overlapping ones could start two lanes for one target. */
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly rw: Runway,
    private readonly opts: LaneOptions,
  ) {}

  async start(): Promise<this> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.opts.refreshMs ?? 5_000);
    this.timer.unref();
    return this;
  }

  private refresh(): Promise<void> {
    this.refreshing = this.refreshing.catch(() => undefined).then(() => this.sync());
    return this.refreshing;
  }

  get names(): string[] {
    return [...this.lanes.keys()];
  }

  get runningCount(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.worker.runningCount;
    return n;
  }

  private async sync(): Promise<void> {
    if (this.stopping) return;
    const targets = await this.rw.store.targetList();
    const seen = new Set<string>();
    for (const t of targets) {
      seen.add(t.name);
      const lane = this.lanes.get(t.name);
      if (lane && sameTarget(lane.target, t)) continue;
      if (lane) await this.stopLane(lane);
      if (this.stopping) return;
      this.startLane(t);
    }
    for (const [name, lane] of this.lanes) if (!seen.has(name)) await this.stopLane(lane);
  }

  private startLane(target: Target): void {
    const client = targetClient(target, this.opts);
    const reach = new Reach(this.rw, target.name);
    const watcher = new RunWatcher(client, (ok, message) => reach.contact(ok, message));
    const worker = this.rw.worker({
      handlers: {
        shell: remoteHandler({
          home: this.opts.home,
          client,
          watcher,
          onUnreachable: (message) => reach.contact(false, message),
          onBusy: () => reach.hold(2_000),
        }),
      },
      target: target.name,
      concurrency: target.concurrency,
      ...(this.opts.queues ? { queues: this.opts.queues } : {}),
      ...(this.opts.leaseMs !== undefined ? { leaseMs: this.opts.leaseMs } : {}),
      housekeeping: false,
      gate: reach.open,
      // Stopping leaves remote runs going: they are handed back at once for the next worker to adopt.
      shutdownGraceMs: 0,
      id: `${target.name}@${hostIdSuffix()}`,
    });
    this.lanes.set(target.name, { target, worker, client });
  }

  private async stopLane(lane: Lane): Promise<void> {
    this.lanes.delete(lane.target.name);
    // The shared connection stays up for others (another worker here may use it); ControlPersist ends it when idle.
    await lane.worker.stop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing.catch(() => undefined);
    await Promise.all([...this.lanes.values()].map((l) => this.stopLane(l)));
  }
}

function sameTarget(a: Target, b: Target): boolean {
  return a.host === b.host && a.port === b.port && a.identity === b.identity && a.dir === b.dir && a.sync === b.sync &&
    a.concurrency === b.concurrency && JSON.stringify(a.excludes) === JSON.stringify(b.excludes);
}

function hostIdSuffix(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(16).slice(2, 8)}`;
}
