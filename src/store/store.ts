/**
 * The store seam: every durable change goes through these queue-level verbs. Names are
 * noun + verb and each takes one params object, so a second store (PostgreSQL) implements
 * the same surface and passes the same conformance suite. A store owns its connections and
 * transactions; callers never see SQL.
 */
import type { CronSchedule, CronSpec } from "../core/cron.js";
import type { Attempt, EscalationRule, Job, JobStatus, QueueInfo, QueueState, RemoteRun } from "../core/job.js";
import type { Target, TargetSpec } from "../core/target.js";
import type { NewJob } from "../core/spec.js";
import type { Finish } from "../core/lifecycle/finish.js";

export interface Lease {
  id: string;
  token: number;
}

export interface ClaimedJob {
  job: Job;
  token: number;
}

export interface ClaimParams {
  workerId: string;
  /** Free slots: at most this many from any queue. */
  limit: number;
  /** Up to this many more, from queues without a concurrency limit only (a worker's local buffer). */
  prefetch?: number;
  leaseMs: number;
  /** Only these queues; all running queues when absent. */
  queues?: string[] | null;
  /** Only jobs of these kinds (what the worker has handlers for); any kind when absent. */
  kinds?: string[] | null;
  /** Only jobs of this target, within its limit (a target's lane); absent: only jobs without a target. */
  target?: string | null;
  now?: number;
}

export interface ClaimResult {
  jobs: ClaimedJob[];
  /** When nothing was ready: the earliest time a scheduled job falls due, so a worker can sleep until then. */
  nextRunAt: number | null;
}

/** What a heartbeat learns about each lease it extends. */
export interface LeaseStatus {
  id: string;
  /** false: the lease is gone (reaped, or the job was finished by someone else). Write nothing more. */
  ok: boolean;
  /** A person asked for the attempt to stop: cancel the job, or put it back in its queue (queue stopped). */
  abort: "cancel" | "requeue" | null;
}

export type { Finish };

export interface FinishOutcome {
  id: string;
  /** false: the token was stale, nothing was written. */
  ok: boolean;
  /** The job's status after the write. */
  status: JobStatus | null;
  /** Set when a failure scheduled another attempt. */
  retryAt: number | null;
  /** Set when the failure escalated the job: the new job's id. */
  escalatedTo: string | null;
  /** The job as the write left it; null when nothing was written, or for a completion asked for without jobs. */
  job: Job | null;
}

export interface AddResult {
  job: Job;
  /** false: a job holding the same unique key already existed and is returned instead. */
  created: boolean;
}

export type MoveTarget = "top" | "bottom" | { before: string } | { after: string };

export interface JobListParams {
  queue?: string;
  status?: JobStatus[];
  kind?: string;
  target?: string;
  /** Jobs whose name or shell command contains this text (case-insensitive); nothing else of a payload is searched. */
  search?: string;
  /** Only jobs that finished at or after this time (epoch ms). */
  finishedSince?: number;
  /** Return jobs after this id in the listing order (pagination cursor). */
  after?: string;
  limit?: number;
  /**
   * "queue": claim order (priority, position, id); "recent": newest first; "added": oldest first,
   * by id (ids grow with time, so `after` walks jobs added since); "finished": by end time. Default "queue".
   */
  order?: "queue" | "recent" | "added" | "finished";
}

/** Jobs that ended in one slice of time, for throughput and duration charts. */
export interface TimelineBucket {
  at: number;
  completed: number;
  failed: number;
  /** Mean duration of the attempts that completed in the slice. */
  meanMs: number | null;
}

export interface LogLine {
  jobId: string;
  attempt: number;
  at: number;
  line: string;
}

export interface StoredLogLine extends LogLine {
  seq: number;
}

export interface QueueStats {
  queue: string;
  state: QueueState;
  concurrency: number | null;
  counts: Record<JobStatus, number>;
  /** Over the most recent completions (up to 1,000). */
  durationP50Ms: number | null;
  durationP95Ms: number | null;
  /** Completions in the last minute. */
  completedLastMinute: number;
}

export interface ReapResult {
  requeued: string[];
  failed: string[];
  cancelled: string[];
}

/**
 * The right to run store-wide maintenance (the reaper, cron ticks, table upkeep, pruning), held by
 * one process per store at a time. A holder that dies lets go at once (the operating system or
 * the server frees its lock); one that goes silent for a few seconds (frozen, cut off) is replaced.
 */
export interface LeaderLease {
  /**
   * Takes the lead when it is free, or confirms that this holder still has it: true while it
   * leads. Call it about once a second; a holder that stops calling is taken to have stalled.
   */
  renew(): Promise<boolean>;
  /** Gives up the lead, if held, and closes what the lease opened. */
  release(): Promise<void>;
}

export interface Store {
  readonly dialect: "sqlite" | "postgres";
  /** Where the store lives, for messages (a file path or a URL without its password). */
  readonly location: string;

  close(): Promise<void>;

  /** Calls `onChange` soon after any process commits a change that could matter to a worker. */
  watch(onChange: () => void): () => void;

  /**
   * Adds jobs in one transaction. `client`: a connection of the caller's, inside a transaction of
   * theirs (PostgreSQL only): the jobs exist only if that transaction commits.
   */
  jobAddMany(params: { jobs: NewJob[]; now?: number; client?: unknown }): Promise<AddResult[]>;
  jobClaim(params: ClaimParams): Promise<ClaimResult>;
  /**
   * Ends attempts (as jobFinishMany without jobs read back) and claims the next jobs, in one
   * transaction: a busy worker pays one commit, or one round trip, per cycle instead of two.
   */
  jobFinishAndClaim(params: { finishes: Finish[]; claim: ClaimParams; now?: number }): Promise<ClaimResult & { outcomes: FinishOutcome[] }>;
  jobHeartbeat(params: { leases: Lease[]; leaseMs: number; now?: number }): Promise<LeaseStatus[]>;
  /** The same answer as a heartbeat without extending anything: a read, so it can run often. */
  jobLeaseCheck(params: { leases: Lease[] }): Promise<LeaseStatus[]>;
  jobProgress(params: { id: string; token: number; progress: unknown }): Promise<boolean>;
  /** Records the attempt's run on its target before it is launched; false when the lease is gone. */
  jobRemoteSet(params: { id: string; token: number; remote: RemoteRun | null }): Promise<boolean>;
  jobLogAppend(params: { lines: LogLine[] }): Promise<void>;
  /**
   * Ends many attempts in one transaction. With `returnJobs: false` a completion's outcome has
   * `job: null` (the caller already holds the job), which lets a store skip reading it back.
   */
  jobFinishMany(params: { finishes: Finish[]; now?: number; returnJobs?: boolean }): Promise<FinishOutcome[]>;
  jobReapExpired(params: { now?: number }): Promise<ReapResult>;
  /**
   * Upkeep a busy queue table needs and the database does not do soon enough by itself; the
   * maintenance leader calls it every few seconds and it returns at once when there is nothing to do.
   */
  storeMaintain(params: { now?: number }): Promise<void>;
  /** A lease on store-wide maintenance for this process; nothing is locked until it is renewed. */
  maintenanceLeader(params: { onWarning?: (message: string) => void }): LeaderLease;

  jobGet(params: { id: string }): Promise<Job | null>;
  jobList(params: JobListParams): Promise<Job[]>;
  jobAttempts(params: { id: string }): Promise<Attempt[]>;
  /** Completions and failures per slice of `bucketMs` since `since`, oldest first; empty slices left out. */
  jobTimeline(params: { since: number; bucketMs: number; queue?: string }): Promise<TimelineBucket[]>;
  jobLogs(params: { id: string; afterSeq?: number; limit?: number }): Promise<StoredLogLine[]>;
  /** Every job of the escalation chain the job belongs to, first to last. */
  jobChain(params: { id: string }): Promise<Job[]>;
  jobCancel(params: { id: string; reason?: string; now?: number }): Promise<Job>;
  jobSkip(params: { id: string; reason?: string; now?: number }): Promise<Job>;
  jobRequeue(params: { id: string; now?: number }): Promise<Job>;
  jobMove(params: { id: string; to: MoveTarget }): Promise<Job>;
  jobPrune(params: { olderThanMs: number; queue?: string; now?: number }): Promise<{ deleted: number }>;

  queueEnsure(params: { queue: string; concurrency?: number | null; state?: QueueState }): Promise<QueueInfo>;
  queueGet(params: { queue: string }): Promise<QueueInfo | null>;
  queueList(): Promise<QueueInfo[]>;
  queueSetState(params: { queue: string; state: QueueState }): Promise<QueueInfo>;
  queueSetConcurrency(params: { queue: string; concurrency: number | null }): Promise<QueueInfo>;
  queueStats(params: { queue?: string; now?: number }): Promise<QueueStats[]>;
  /** True when nothing is queued, scheduled, blocked or running in the queue: it has drained. */
  queueIsDrained(params: { queue: string }): Promise<boolean>;

  /** Adds a target, or replaces the one of that name when `replace` is set. */
  targetSet(params: { target: TargetSpec; replace?: boolean; now?: number }): Promise<Target>;
  targetGet(params: { name: string }): Promise<Target | null>;
  targetList(): Promise<Target[]>;
  /** Refused while jobs wait for or run on the target; false when there was none of that name. */
  targetRemove(params: { name: string }): Promise<boolean>;
  /** What the last contact with the target found, for `target ls` and the dashboard. */
  targetReport(params: { name: string; reachable: boolean; message: string | null; now?: number }): Promise<void>;
  /** Jobs of the target by status (queued, running…), for listings. */
  targetCounts(): Promise<Record<string, Partial<Record<JobStatus, number>>>>;

  escalationSet(params: { rule: EscalationRule }): Promise<void>;
  escalationList(): Promise<EscalationRule[]>;
  escalationRemove(params: { queue: string | null; kind: string | null }): Promise<boolean>;

  /** Creates or replaces the schedule of that name; its next tick is the first after `now`. */
  cronSet(params: { schedule: CronSpec; now?: number }): Promise<CronSchedule>;
  cronList(): Promise<CronSchedule[]>;
  /** false: there was no schedule of that name. */
  cronRemove(params: { name: string }): Promise<boolean>;
  /**
   * Fires every schedule whose next tick is due: one job each, keyed by the tick, and the next
   * tick moved past `now`, in one transaction. Concurrent callers never fire the same tick
   * twice. Returns the jobs it added.
   */
  cronFire(params: { now?: number }): Promise<Job[]>;
}
