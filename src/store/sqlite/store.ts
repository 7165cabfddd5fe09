/**
 * The SQLite store: one file, one writer at a time. Each verb lives with its concern (add, claim,
 * lease, finish, steer, read, queues, targets, cron, upkeep); this class only holds the
 * connection and hands each call on. Methods are async so a refusal reaches callers as a rejection.
 */
import type { CronSchedule, CronSpec } from "../../core/cron.js";
import type { Attempt, EscalationRule, Job, JobStatus, QueueInfo, QueueState, RemoteRun } from "../../core/job.js";
import type { Finish } from "../../core/lifecycle/index.js";
import type { NewJob } from "../../core/spec.js";
import type { Target, TargetSpec } from "../../core/target.js";
import type * as S from "../store.js";
import * as add from "./add.js";
import * as claim from "./claim.js";
import { SqliteContext, type SqliteStoreOptions } from "./context.js";
import * as cron from "./cron.js";
import * as finish from "./finish.js";
import { sqliteMaintenanceLeader } from "./leader.js";
import * as lease from "./lease.js";
import * as queues from "./queues.js";
import * as read from "./read.js";
import * as steer from "./steer.js";
import * as targets from "./targets.js";
import * as upkeep from "./upkeep.js";

export type { SqliteStoreOptions };

export class SqliteStore implements S.Store {
  readonly dialect = "sqlite" as const;
  readonly location: string;
  private readonly cx: SqliteContext;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    this.cx = new SqliteContext(opts);
    this.location = this.cx.location;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cx.close();
  }

  watch(onChange: () => void): () => void {
    this.cx.startCheckpoints();
    return this.cx.feed.subscribe(onChange);
  }

  async jobAddMany(p: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<S.AddResult[]> {
    return add.jobAddMany(this.cx, p);
  }
  async jobClaim(p: S.ClaimParams): Promise<S.ClaimResult> {
    return claim.jobClaim(this.cx, p);
  }
  async jobFinishAndClaim(p: { finishes: Finish[]; claim: S.ClaimParams; now?: number }): Promise<S.ClaimResult & { outcomes: S.FinishOutcome[] }> {
    return finish.jobFinishAndClaim(this.cx, p);
  }
  async jobHeartbeat(p: { leases: S.Lease[]; leaseMs: number; now?: number }): Promise<S.LeaseStatus[]> {
    return lease.jobHeartbeat(this.cx, p);
  }
  async jobLeaseCheck(p: { leases: S.Lease[] }): Promise<S.LeaseStatus[]> {
    return lease.jobLeaseCheck(this.cx, p);
  }
  async jobProgress(p: { id: string; token: number; progress: unknown }): Promise<boolean> {
    return lease.jobProgress(this.cx, p);
  }
  async jobRemoteSet(p: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean> {
    return lease.jobRemoteSet(this.cx, p);
  }
  async jobLogAppend(p: { lines: S.LogLine[] }): Promise<void> {
    lease.jobLogAppend(this.cx, p);
  }
  async jobFinishMany(p: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<S.FinishOutcome[]> {
    return finish.jobFinishMany(this.cx, p);
  }
  maintenanceLeader(p: { onWarning?: (message: string) => void }): S.LeaderLease {
    return sqliteMaintenanceLeader(this.location, p.onWarning);
  }
  async jobReapExpired(p: { now?: number }): Promise<S.ReapResult> {
    return finish.jobReapExpired(this.cx, p);
  }
  /** Nothing to do: WAL checkpoints have their own thread, and SQLite reuses freed pages itself. */
  async storeMaintain(_p: { now?: number }): Promise<void> {}

  async jobGet(p: { id: string }): Promise<Job | null> {
    return read.jobGet(this.cx, p);
  }
  async jobList(p: S.JobListParams): Promise<Job[]> {
    return read.jobList(this.cx, p);
  }
  async jobAttempts(p: { id: string }): Promise<Attempt[]> {
    return read.jobAttempts(this.cx, p);
  }
  async jobTimeline(p: { since: number; bucketMs: number; queue?: string }): Promise<S.TimelineBucket[]> {
    return read.jobTimeline(this.cx, p);
  }
  async jobLogs(p: { id: string; afterSeq?: number; limit?: number }): Promise<S.StoredLogLine[]> {
    return read.jobLogs(this.cx, p);
  }
  async jobChain(p: { id: string }): Promise<Job[]> {
    return read.jobChain(this.cx, p);
  }
  async jobCancel(p: { id: string; reason?: string; now?: number }): Promise<Job> {
    return steer.jobCancel(this.cx, p);
  }
  async jobSkip(p: { id: string; reason?: string; now?: number }): Promise<Job> {
    return steer.jobSkip(this.cx, p);
  }
  async jobRequeue(p: { id: string; now?: number }): Promise<Job> {
    return steer.jobRequeue(this.cx, p);
  }
  async jobMove(p: { id: string; to: S.MoveTarget }): Promise<Job> {
    return steer.jobMove(this.cx, p);
  }
  async jobPrune(p: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }> {
    return upkeep.jobPrune(this.cx, p);
  }

  async queueEnsure(p: { queue: string; concurrency?: number | null; state?: QueueState }): Promise<QueueInfo> {
    return queues.queueEnsure(this.cx, p);
  }
  async queueGet(p: { queue: string }): Promise<QueueInfo | null> {
    return queues.queueGet(this.cx, p);
  }
  async queueList(): Promise<QueueInfo[]> {
    return queues.queueList(this.cx);
  }
  async queueSetState(p: { queue: string; state: QueueState }): Promise<QueueInfo> {
    return queues.queueSetState(this.cx, p);
  }
  async queueSetConcurrency(p: { queue: string; concurrency: number | null }): Promise<QueueInfo> {
    return queues.queueSetConcurrency(this.cx, p);
  }
  async queueStats(p: { queue?: string; now?: number }): Promise<S.QueueStats[]> {
    return queues.queueStats(this.cx, p);
  }
  async queueIsDrained(p: { queue: string }): Promise<boolean> {
    return queues.queueIsDrained(this.cx, p);
  }

  async targetSet(p: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target> {
    return targets.targetSet(this.cx, p);
  }
  async targetGet(p: { name: string }): Promise<Target | null> {
    return targets.targetGet(this.cx, p);
  }
  async targetList(): Promise<Target[]> {
    return targets.targetList(this.cx);
  }
  async targetRemove(p: { name: string }): Promise<boolean> {
    return targets.targetRemove(this.cx, p);
  }
  async targetReport(p: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void> {
    targets.targetReport(this.cx, p);
  }
  async targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
    return targets.targetCounts(this.cx);
  }
  async escalationSet(p: { rule: EscalationRule }): Promise<void> {
    targets.escalationSet(this.cx, p);
  }
  async escalationList(): Promise<EscalationRule[]> {
    return targets.escalationList(this.cx);
  }
  async escalationRemove(p: { queue: string | null; kind: string | null }): Promise<boolean> {
    return targets.escalationRemove(this.cx, p);
  }

  async cronSet(p: { schedule: CronSpec; now?: number }): Promise<CronSchedule> {
    return cron.cronSet(this.cx, p);
  }
  async cronList(): Promise<CronSchedule[]> {
    return cron.cronList(this.cx);
  }
  async cronRemove(p: { name: string }): Promise<boolean> {
    return cron.cronRemove(this.cx, p);
  }
  async cronFire(p: { now?: number }): Promise<Job[]> {
    return cron.cronFire(this.cx, p);
  }
}
