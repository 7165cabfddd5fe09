import type { JobContext } from "../../core/handler.js";
import type { Json, RemoteRun } from "../../core/job.js";
import type { Attempt } from "./attempt.js";

/** What an attempt's context does, made once per worker rather than once per attempt. */
export interface AttemptOps {
  workerId(): string;
  progress(a: Attempt, value: Json): Promise<void>;
  log(a: Attempt, line: string): void;
  recordRun(a: Attempt, run: RemoteRun | null): Promise<void>;
}

/**
 * A handler's view of its attempt. The signal and the helpers are made when first read (they
 * stay bound, so `const { log } = ctx` works): most handlers touch few of them, and a worker
 * holding a thousand attempts in flight keeps only what each one used.
 */
export class AttemptContext implements JobContext {
  private boundProgress: JobContext["progress"] | null = null;
  private boundLog: JobContext["log"] | null = null;
  private boundRecordRun: JobContext["recordRun"] | null = null;

  constructor(
    private readonly a: Attempt,
    private readonly ops: AttemptOps,
  ) {}

  get signal(): AbortSignal {
    const a = this.a;
    if (!a.controller) {
      a.controller = new AbortController();
      if (a.abortReason) a.controller.abort(a.abortReason);
    }
    return a.controller.signal;
  }
  get attempt(): number {
    return this.a.job.attempt;
  }
  get workerId(): string {
    return this.ops.workerId();
  }
  get progress(): JobContext["progress"] {
    return (this.boundProgress ??= (value) => this.ops.progress(this.a, value));
  }
  get log(): JobContext["log"] {
    return (this.boundLog ??= (line) => this.ops.log(this.a, line));
  }
  get recordRun(): JobContext["recordRun"] {
    return (this.boundRecordRun ??= (run) => this.ops.recordRun(this.a, run));
  }
}
