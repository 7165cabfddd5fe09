import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { groupAlive, procStat, stopGroup } from "./process-group.js";
import { watchGroup } from "./watchdog.js";

/** What <home>/running/<job id>.<attempt>.json holds while an attempt's process group may live. */
export interface RunningRecord {
  pgid: number;
  pid: number;
  /** The leader's start time (/proc/<pid>/stat field 22); null where there is no /proc. */
  startTime: number | null;
  jobId: string;
  attempt: number;
  workerPid: number;
  /** The worker's own start time, so that a reused worker pid does not pass for the worker. */
  workerStartTime: number | null;
  host: string;
  /** Start times count from boot: after a reboot they name nothing, and nothing recorded lives. */
  bootId: string | null;
}

export function runningDir(home: string): string {
  return join(home, "running");
}

function recordPath(home: string, jobId: string, attempt: number): string {
  return join(runningDir(home), `${jobId}.${attempt}.json`);
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim() || null;
  } catch {
    return null;
  }
}

export interface TrackedGroup {
  /** Settles once the record is on disk: null, or why it could not be written. */
  written: Promise<Error | null>;
  /** The group is gone: the watchdog forgets it and the record is removed. Idempotent. */
  release(): Promise<void>;
}

/**
 * Records a freshly spawned group (it leads it: pgid = pid) on disk and with the watchdog. Call it
 * before yielding to the event loop after the spawn, while the leader cannot have been reaped.
 */
export function trackGroup(o: { home: string; jobId: string; attempt: number; pid: number; graceMs: number }): TrackedGroup {
  const startTime = procStat(o.pid)?.startTime ?? null;
  const watched = watchGroup(o.pid, startTime, o.graceMs);
  const record: RunningRecord = {
    pgid: o.pid,
    pid: o.pid,
    startTime,
    jobId: o.jobId,
    attempt: o.attempt,
    workerPid: process.pid,
    workerStartTime: procStat(process.pid)?.startTime ?? null,
    host: hostname(),
    bootId: bootId(),
  };
  const path = recordPath(o.home, o.jobId, o.attempt);
  // Renamed into place, so that a record is never read half-written.
  const tmp = `${path}.${process.pid}.tmp`;
  const written = (async () => {
    try {
      await mkdir(runningDir(o.home), { recursive: true });
      await writeFile(tmp, `${JSON.stringify(record)}\n`);
      await rename(tmp, path);
      return null;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      return err as Error;
    }
  })();
  let released: Promise<void> | null = null;
  return {
    written,
    release: () =>
      (released ??= (async () => {
        watched.release();
        if ((await written) === null) await unlink(path).catch(() => {});
      })()),
  };
}

/** Alive, and the same process as when recorded. A zombie has finished: it is not alive. */
function sameProcessAlive(pid: number, startTime: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = procStat(pid);
  if (stat === null) return true;
  if (stat.state === "Z" || stat.state === "X") return false;
  return startTime === null || stat.startTime === startTime;
}

/**
 * Whether signalling the recorded group can only reach the attempt's processes. Its leader still
 * being the recorded process proves it; so does its leader having exited, because while any
 * member lives the pgid cannot be given to a new process. A different process under that pid
 * means the group is gone and the pid reused.
 */
function groupIsOurs(rec: RunningRecord): boolean {
  if (rec.startTime === null) return false;
  const stat = procStat(rec.pgid);
  return stat === null || stat.startTime === rec.startTime;
}

function parseRecord(text: string): RunningRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object") return null;
  const r = v as Record<string, unknown>;
  const whole = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
  const whenKnown = (x: unknown) => x === null || (typeof x === "number" && Number.isSafeInteger(x) && x >= 0);
  if (!whole(r.pgid) || r.pgid <= 1 || !whole(r.pid) || !whole(r.workerPid) || !whole(r.attempt)) return null;
  if (!whenKnown(r.startTime) || !whenKnown(r.workerStartTime ?? null)) return null;
  if (typeof r.jobId !== "string" || typeof r.host !== "string") return null;
  return {
    pgid: r.pgid,
    pid: r.pid,
    startTime: r.startTime as number | null,
    jobId: r.jobId,
    attempt: r.attempt,
    workerPid: r.workerPid,
    workerStartTime: (r.workerStartTime ?? null) as number | null,
    host: r.host,
    bootId: typeof r.bootId === "string" ? r.bootId : null,
  };
}

export interface ReapOptions {
  /** SIGTERM, then SIGKILL to what is left after this many ms. Default 5000. */
  graceMs?: number;
}

/**
 * Ends the process groups recorded under <home>/running by workers of this host that are no
 * longer running (killed before they could clean up), and removes their records. Records of live
 * workers are left alone, and so are those of other hosts: their pids name processes elsewhere.
 * A group is signalled only when it is provably the recorded one (see `groupIsOurs`); a record
 * without a start time cannot prove it and is dropped without signalling anything.
 * `killed` counts the groups that were still running and were signalled.
 */
export async function reapOrphans(home: string, opts: ReapOptions = {}): Promise<{ killed: number }> {
  const graceMs = opts.graceMs ?? 5_000;
  const dir = runningDir(home);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { killed: 0 };
    throw err;
  }
  const host = hostname();
  const boot = bootId();
  const orphans: { rec: RunningRecord; path: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const tmp = /\.(\d+)\.tmp$/.exec(name);
    if (tmp) {
      // Left by a worker that died between writing a record and renaming it into place.
      if (!sameProcessAlive(Number(tmp[1]), null)) await unlink(path).catch(() => {});
      continue;
    }
    if (!name.endsWith(".json")) continue;
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      continue; // removed meanwhile by the worker that owns it
    }
    const rec = parseRecord(text);
    // Records are renamed into place whole: one that does not parse will never mean anything.
    if (rec === null) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (rec.host !== host) continue;
    const rebooted = rec.bootId !== null && boot !== null && rec.bootId !== boot;
    if (!rebooted && sameProcessAlive(rec.workerPid, rec.workerStartTime)) continue;
    if (rebooted || !groupIsOurs(rec)) {
      await unlink(path).catch(() => {});
      continue;
    }
    orphans.push({ rec, path });
  }

  const ended = await Promise.all(
    orphans.map(async ({ rec, path }) => {
      const alive = await groupAlive(rec.pgid);
      if (alive) await stopGroup(rec.pgid, () => true, graceMs, () => groupIsOurs(rec));
      await unlink(path).catch(() => {});
      return alive;
    }),
  );
  return { killed: ended.filter(Boolean).length };
}
