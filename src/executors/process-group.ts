import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";

const POLL_MS = 25;
/**
 * After SIGKILL a process can only linger in uninterruptible sleep (a hung disk or NFS mount);
 * waiting for it longer would hold the worker's slot for nothing it can change.
 */
const AFTER_KILL_MS = 2_000;

/** Sends a signal to every process in a group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  // -0 is the caller's own group and -1 every process there is: never a job's group.
  if (!Number.isInteger(pgid) || pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left to signal. EPERM: not ours to signal, and nothing better to do.
  }
}

/**
 * Whether any process of the group can still run. Zombies do not count: where PID 1 does not
 * reap orphans (some containers and VMs), a killed grandchild stays a zombie for good, and
 * `kill(-pgid, 0)` would report the group alive forever.
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return process.platform === "linux" ? hasRunnableMember(pgid) : true;
}

async function hasRunnableMember(pgid: number): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e));
  } catch {
    return true;
  }
  // In batches: one open file per process at once could run into the descriptor limit.
  for (let i = 0; i < pids.length; i += 64) {
    const states = await Promise.all(pids.slice(i, i + 64).map(readState));
    if (states.some((s) => s === "unknown" || (s !== null && s.pgrp === pgid && s.state !== "Z" && s.state !== "X"))) {
      return true;
    }
  }
  return false;
}

async function readState(pid: string): Promise<{ state: string; pgrp: number } | null | "unknown"> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, "latin1"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Exited while we looked; anything else leaves the answer open, and open means alive.
    return code === "ENOENT" || code === "ESRCH" ? null : "unknown";
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks after boot at which the process started: with the pid, names one process. */
  startTime: number;
}

function parseStat(text: string): ProcStat | null {
  // The command name is in parentheses and may itself contain spaces and parentheses.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  // From field 3 (state) on; the start time is field 22.
  const fields = text.slice(close + 2).split(" ");
  return { state: fields[0] ?? "", pgrp: Number(fields[2]), startTime: Number(fields[19]) };
}

/**
 * /proc/<pid>/stat, or null when there is no such process (or no /proc). Synchronous so that it
 * can be read right after a spawn, before the event loop has had a chance to reap the child.
 */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return null;
  }
}

/**
 * SIGTERM to the whole group, then SIGKILL once `graceMs` has passed with the leader or any
 * other member still alive. Resolves when all are gone, or when waiting longer is pointless.
 * `stillOurs` is asked before the SIGKILL, for a caller that is not the group's parent and so
 * cannot rule out that the group ended and its pgid was reused during the grace.
 */
export async function stopGroup(
  pgid: number,
  leaderExited: () => boolean,
  graceMs: number,
  stillOurs: () => boolean = () => true,
): Promise<void> {
  const gone = async () => leaderExited() && !(await groupAlive(pgid));
  signalGroup(pgid, "SIGTERM");
  const graceEnds = Date.now() + graceMs;
  while (Date.now() < graceEnds) {
    if (await gone()) return;
    await delay(Math.min(POLL_MS, Math.max(1, graceEnds - Date.now())));
  }
  if ((await gone()) || !stillOurs()) return;
  signalGroup(pgid, "SIGKILL");
  const giveUp = Date.now() + AFTER_KILL_MS;
  while (Date.now() < giveUp) {
    if (await gone()) return;
    await delay(POLL_MS);
  }
}
