/**
 * What the server knows about a run, and what it means. The shell side only collects evidence;
 * the decision is this pure function, so every rule is tested without a server.
 */

export type ServerStatus = "STARTING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "LOST";

export interface RunRow {
  run_id: string;
  status: ServerStatus;
  reason: string | null;
  exit_code: number | null;
  signal: number | null;
  submitted_at: number;
  started_at: number | null;
  ended_at: number | null;
  boot_id: string | null;
  wrapper_pid: number | null;
  job_pgid: number | null;
}

export interface RunEvidence {
  runId: string;
  /** The run's row in the server database; null: never launched there. */
  row: RunRow | null;
  /** Its directory exists on the server. */
  dir: boolean;
  /** The exit code the job's recorder wrote, if it did. */
  exitFile: number | null;
  wrapperAlive: boolean;
  groupAlive: boolean;
  lockHeld: boolean;
  cancelRequested: boolean;
  /** The tmux pane, when it is kept dead: "1/<status>/<signal>"; null when there is none. */
  pane: string | null;
  /** The end of the job's output, when it looks finished. */
  tail: Buffer | null;
}

export interface StatusSnapshot {
  bootId: string;
  /** The server's clock, seconds since the epoch. */
  now: number;
  runs: Map<string, RunEvidence>;
}

export type Verdict =
  | { state: "missing" }
  | { state: "starting" }
  | { state: "running"; note: string | null }
  | {
      state: "ended";
      status: "SUCCEEDED" | "FAILED" | "CANCELLED" | "LOST";
      exitCode: number | null;
      signal: number | null;
      reason: string | null;
      startedAt: number | null;
      endedAt: number | null;
      /** The server's row is not final yet: the verdict must be written there too. */
      settle: boolean;
    };

/** A run that was inserted but whose wrapper never came up is given this long before it is called failed. */
export const NEVER_STARTED_GRACE_S = 60;

function fromCode(code: number, cancelled: boolean): { status: "SUCCEEDED" | "FAILED" | "CANCELLED"; signal: number | null } {
  if (cancelled) return { status: "CANCELLED", signal: code > 128 ? code - 128 : null };
  return { status: code === 0 ? "SUCCEEDED" : "FAILED", signal: code > 128 ? code - 128 : null };
}

/**
 * Evidence ranked as a tested design ranks it (SkyPilot's driver checks, nq's lock): a final row,
 * then the exit-code file, then a changed boot id, a live wrapper, a live job group or held lock,
 * the grace period of a launch, and only then "lost".
 */
export function decide(e: RunEvidence, snapshot: { bootId: string; now: number }): Verdict {
  const r = e.row;
  if (!r) return e.dir ? { state: "starting" } : { state: "missing" };
  const times = { startedAt: r.started_at, endedAt: r.ended_at };
  if (r.status !== "STARTING" && r.status !== "RUNNING") {
    return { state: "ended", status: r.status, exitCode: r.exit_code, signal: r.signal, reason: r.reason, ...times, settle: false };
  }
  if (e.exitFile !== null && !e.wrapperAlive) {
    return {
      state: "ended",
      ...fromCode(e.exitFile, e.cancelRequested),
      exitCode: e.exitFile,
      reason: "recovered_from_exit_code_file",
      ...times,
      endedAt: times.endedAt ?? snapshot.now,
      settle: true,
    };
  }
  if (r.boot_id && r.boot_id !== snapshot.bootId) {
    return { state: "ended", status: "LOST", exitCode: null, signal: null, reason: "server_rebooted", ...times, settle: true };
  }
  if (e.wrapperAlive) return { state: "running", note: null };
  if (e.groupAlive || e.lockHeld) return { state: "running", note: "wrapper_lost_job_alive" };
  if (r.wrapper_pid === null) {
    if (snapshot.now - r.submitted_at < NEVER_STARTED_GRACE_S) return { state: "starting" };
    return { state: "ended", status: "FAILED", exitCode: null, signal: null, reason: "never_started", ...times, settle: true };
  }
  return {
    state: "ended",
    status: "LOST",
    exitCode: null,
    signal: null,
    reason: `wrapper_and_job_gone:pane=${e.pane ?? "none"}`,
    ...times,
    settle: true,
  };
}

/** Reads the marked lines of `runway-ctl status`. */
export function parseStatus(lines: string[]): StatusSnapshot {
  let bootId = "unknown";
  let now = Date.now() / 1000;
  const rows = new Map<string, RunRow>();
  const runs = new Map<string, RunEvidence>();
  for (const line of lines) {
    const sp = line.indexOf(" ");
    const tag = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? "" : line.slice(sp + 1);
    if (tag === "boot") bootId = rest.trim();
    else if (tag === "now") now = Number(rest);
    else if (tag === "row") {
      const row = JSON.parse(rest) as RunRow;
      rows.set(row.run_id, row);
    } else if (tag === "run") {
      const [id, ...fields] = rest.split(" ");
      const f = Object.fromEntries(fields.map((x) => [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)]));
      runs.set(id!, {
        runId: id!,
        row: null,
        dir: f.dir === "1",
        exitFile: f.exit !== undefined && f.exit !== "-" && /^\d+$/.test(f.exit) ? Number(f.exit) : null,
        wrapperAlive: f.wrapper === "alive",
        groupAlive: f.group === "alive",
        lockHeld: f.lock === "held",
        cancelRequested: f.cancel === "1",
        pane: f.pane && f.pane !== "-" ? f.pane : null,
        tail: null,
      });
    } else if (tag === "tail") {
      const [id, b64] = rest.split(" ");
      const run = runs.get(id!);
      if (run) run.tail = Buffer.from(b64 ?? "", "base64");
    }
  }
  for (const [id, run] of runs) run.row = rows.get(id) ?? null;
  return { bootId, now, runs };
}
