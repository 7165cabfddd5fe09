/**
 * The PostgreSQL store: the same verbs and the same promises as the SQLite store, for workers on
 * many machines. This class holds the context and the LISTEN connection; each verb is written in
 * the file of its concern and takes the context.
 */
import type { CronSchedule, CronSpec } from "../../core/cron.js";
import type { Attempt, EscalationRule, Job, JobStatus, QueueInfo, QueueState, RemoteRun } from "../../core/job.js";
import type { NewJob } from "../../core/spec.js";
import type { Target, TargetSpec } from "../../core/target.js";
import type {
  AddResult,
  ClaimParams,
  ClaimResult,
  Finish,
  FinishOutcome,
  LeaderLease,
  JobListParams,
  Lease,
  LeaseStatus,
  LogLine,
  MoveTarget,
  QueueStats,
  ReapResult,
  Store,
  StoredLogLine,
  TimelineBucket,
} from "../store.js";
import * as add from "./add.js";
import * as claim from "./claim.js";
import { type PgContext, openContext } from "./context.js";
import * as cron from "./cron.js";
import * as finish from "./finish.js";
import * as lease from "./lease.js";
import { postgresMaintenanceLeader } from "./leader.js";
import { PgListener } from "./listener.js";
import * as queues from "./queues.js";
import * as reads from "./read.js";
import * as steer from "./steer.js";
import * as targets from "./targets.js";
import * as upkeep from "./upkeep.js";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database[?schema=name] */
  url: string;
  /** The schema runway's tables live in; default "runway" (or ?schema= in the URL). */
  schema?: string;
  /** Connections in this process's pool. Default 10. */
  poolSize?: number;
  /** How often to look for changes while the LISTEN connection is down. Default 500 ms. */
  pollIntervalMs?: number;
  /** Called with one line when the connection is lost, and when it comes back. */
  onWarning?: (message: string) => void;
}

export class PostgresStore implements Store {
  readonly dialect = "postgres" as const;
  readonly location: string;
  readonly schema: string;
  private readonly cx: PgContext;
  private readonly listener: PgListener;
  private readonly warn: (message: string) => void;
  private closed = false;

  constructor(opts: PostgresStoreOptions) {
    const cx = openContext(opts);
    this.cx = cx;
    this.schema = cx.schema;
    this.location = cx.where.display;
    this.warn = opts.onWarning ?? ((m: string) => process.emitWarning(m, "RunwayWarning"));
    this.listener = new PgListener(cx.where.config, cx.channel, opts.pollIntervalMs ?? 500, this.warn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.cx.ready.catch(() => {});
    await this.cx.pool.end();
  }

  watch(onChange: () => void): () => void {
    return this.listener.subscribe(onChange);
  }

  jobAddMany(p: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<AddResult[]> {
    return add.jobAddMany(this.cx, p);
  }
  jobClaim(p: ClaimParams): Promise<ClaimResult> {
    return claim.jobClaim(this.cx, p);
  }
  jobFinishAndClaim(p: { finishes: Finish[]; claim: ClaimParams; now?: number }): Promise<ClaimResult & { outcomes: FinishOutcome[] }> {
    return finish.jobFinishAndClaim(this.cx, p);
  }
  jobHeartbeat(p: { leases: Lease[]; leaseMs: number; now?: number }): Promise<LeaseStatus[]> {
    return lease.jobHeartbeat(this.cx, p);
  }
  jobLeaseCheck(p: { leases: Lease[] }): Promise<LeaseStatus[]> {
    return lease.jobLeaseCheck(this.cx, p);
  }
  jobProgress(p: { id: string; token: number; progress: unknown }): Promise<boolean> {
    return lease.jobProgress(this.cx, p);
  }
  jobRemoteSet(p: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean> {
    return lease.jobRemoteSet(this.cx, p);
  }
  jobLogAppend(p: { lines: LogLine[] }): Promise<void> {
    return lease.jobLogAppend(this.cx, p);
  }
  jobFinishMany(p: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<FinishOutcome[]> {
    return finish.jobFinishMany(this.cx, p);
  }
  maintenanceLeader(p: { onWarning?: (message: string) => void }): LeaderLease {
    return postgresMaintenanceLeader(this.cx.where, p.onWarning ?? this.warn);
  }
  jobReapExpired(p: { now?: number }): Promise<ReapResult> {
    return finish.jobReapExpired(this.cx, p);
  }
  storeMaintain(p: { now?: number }): Promise<void> {
    return upkeep.storeMaintain(this.cx, p);
  }

  jobGet(p: { id: string }): Promise<Job | null> {
    return reads.jobGet(this.cx, p);
  }
  jobList(p: JobListParams): Promise<Job[]> {
    return reads.jobList(this.cx, p);
  }
  jobAttempts(p: { id: string }): Promise<Attempt[]> {
    return reads.jobAttempts(this.cx, p);
  }
  jobTimeline(p: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]> {
    return reads.jobTimeline(this.cx, p);
  }
  jobLogs(p: { id: string; afterSeq?: number; limit?: number }): Promise<StoredLogLine[]> {
    return reads.jobLogs(this.cx, p);
  }
  jobChain(p: { id: string }): Promise<Job[]> {
    return reads.jobChain(this.cx, p);
  }
  jobCancel(p: { id: string; reason?: string; now?: number }): Promise<Job> {
    return steer.jobCancel(this.cx, p);
  }
  jobSkip(p: { id: string; reason?: string; now?: number }): Promise<Job> {
    return steer.jobSkip(this.cx, p);
  }
  jobRequeue(p: { id: string; now?: number }): Promise<Job> {
    return steer.jobRequeue(this.cx, p);
  }
  jobMove(p: { id: string; to: MoveTarget }): Promise<Job> {
    return steer.jobMove(this.cx, p);
  }
  jobPrune(p: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }> {
    return upkeep.jobPrune(this.cx, p);
  }

  queueEnsure(p: { queue: string; concurrency?: number | null; state?: QueueState }): Promise<QueueInfo> {
    return queues.queueEnsure(this.cx, p);
  }
  queueGet(p: { queue: string }): Promise<QueueInfo | null> {
    return queues.queueGet(this.cx, p);
  }
  queueList(): Promise<QueueInfo[]> {
    return queues.queueList(this.cx);
  }
  queueSetState(p: { queue: string; state: QueueState }): Promise<QueueInfo> {
    return queues.queueSetState(this.cx, p);
  }
  queueSetConcurrency(p: { queue: string; concurrency: number | null }): Promise<QueueInfo> {
    return queues.queueSetConcurrency(this.cx, p);
  }
  queueStats(p: { queue?: string; now?: number }): Promise<QueueStats[]> {
    return queues.queueStats(this.cx, p);
  }
  queueIsDrained(p: { queue: string }): Promise<boolean> {
    return queues.queueIsDrained(this.cx, p);
  }

  targetSet(p: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target> {
    return targets.targetSet(this.cx, p);
  }
  targetGet(p: { name: string }): Promise<Target | null> {
    return targets.targetGet(this.cx, p);
  }
  targetList(): Promise<Target[]> {
    return targets.targetList(this.cx);
  }
  targetRemove(p: { name: string }): Promise<boolean> {
    return targets.targetRemove(this.cx, p);
  }
  targetReport(p: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void> {
    return targets.targetReport(this.cx, p);
  }
  targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>> {
    return targets.targetCounts(this.cx);
  }

  escalationSet(p: { rule: EscalationRule }): Promise<void> {
    return targets.escalationSet(this.cx, p);
  }
  escalationList(): Promise<EscalationRule[]> {
    return targets.escalationList(this.cx);
  }
  escalationRemove(p: { queue: string | null; kind: string | null }): Promise<boolean> {
    return targets.escalationRemove(this.cx, p);
  }

  cronSet(p: { schedule: CronSpec; now?: number }): Promise<CronSchedule> {
    return cron.cronSet(this.cx, p);
  }
  cronList(): Promise<CronSchedule[]> {
    return cron.cronList(this.cx);
  }
  cronRemove(p: { name: string }): Promise<boolean> {
    return cron.cronRemove(this.cx, p);
  }
  cronFire(p: { now?: number }): Promise<Job[]> {
    return cron.cronFire(this.cx, p);
  }
}
