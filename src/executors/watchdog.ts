import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";

/**
 * One watchdog per worker process, shared by all its attempts: a /bin/sh loop in a session of its
 * own, reading its stdin from a pipe whose other end only this process holds (node opens it
 * close-on-exec, so no job inherits it). Any death of this process, kill -9 included, closes that
 * end and the watchdog reads EOF at once: no polling, and no race with pid reuse of the worker.
 * It is then told nothing more, so whatever groups it still holds were not cleaned up by the
 * worker: it SIGTERMs them, SIGKILLs what is left after their grace, and exits. After an orderly
 * exit it holds nothing and exits without signalling anyone.
 *
 * One per process rather than one per attempt: a worker running many slots costs one small
 * process, not one for each job, and a single pipe carries every attempt's start and end.
 *
 * Lines on the pipe: `+ <id> <pgid> <leader start time or -> <grace ms>` when a group starts,
 * `- <id>` when it is gone. Ids, not pgids, name entries: a pgid can be reused once its group is
 * gone, possibly before the line that says so has been written.
 */
const SCRIPT = `
held=' '
while read -r op id pgid start grace; do
  case $op in
    +) held="$held$id:$pgid:$start:$grace " ;;
    -) kept=' '
       for g in $held; do
         case $g in "$id":*) ;; *) kept="$kept$g " ;; esac
       done
       held=$kept ;;
  esac
done
set -f
# Only a group whose leader is still the process that was recorded, or has exited, is ours: while
# any member lives its pgid cannot be given to a new process, so a different process under that
# pid means the group is long gone.
ours() {
  [ "$2" = - ] && return 0
  [ -e "/proc/$1" ] || return 0
  line=
  read -r line < "/proc/$1/stat" 2>/dev/null
  [ -n "$line" ] || return 0
  want=$2
  set -- \${line##*) }
  [ "\${20}" = "$want" ]
}
pending=
for g in $held; do
  IFS=:
  set -- $g
  IFS=' '
  if ours "$2" "$3" && kill -s TERM -- "-$2" 2>/dev/null; then
    pending="$pending $2:$3:$(( ($4 + 99) / 100 ))"
  fi
done
tick=0
while [ -n "$pending" ]; do
  sleep 0.1 2>/dev/null || sleep 1
  tick=$((tick + 1))
  left=
  for g in $pending; do
    IFS=:
    set -- $g
    IFS=' '
    kill -s 0 -- "-$1" 2>/dev/null || continue
    if [ "$tick" -lt "$3" ]; then
      left="$left $g"
    elif ours "$1" "$2"; then
      kill -s KILL -- "-$1" 2>/dev/null
    fi
  done
  pending=$left
done
`;

interface Held {
  pgid: number;
  startTime: number | null;
  graceMs: number;
}

const RESTART_MS = 1_000;
const held = new Map<number, Held>();
let nextId = 1;
let dog: ChildProcess | null = null;

function send(line: string): void {
  const stdin = dog?.stdin;
  if (!stdin || stdin.destroyed) return;
  stdin.write(`${line}\n`);
}

function entry(id: number, h: Held): string {
  return `+ ${id} ${h.pgid} ${h.startTime ?? "-"} ${Math.max(0, Math.round(h.graceMs))}`;
}

/** Starts the watchdog if it is not running, handing a new one everything still held. */
function ensureWatchdog(): void {
  if (dog !== null) return;
  let child: ChildProcess;
  try {
    child = spawn("/bin/sh", ["-c", SCRIPT, "runway-watchdog", String(process.pid)], {
      // A session of its own: neither a terminal's signals nor a signal to the worker's group reach it.
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
      // It may outlive the worker by a grace: it must not hold the worker's directory busy.
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
  } catch {
    // The record under <home>/running still lets the next worker reap the group.
    return;
  }
  dog = child;
  const forget = () => {
    if (dog === child) dog = null;
  };
  child.once("error", forget);
  child.once("exit", () => {
    forget();
    // Killed from outside while attempts run: they need a new one before the next attempt starts.
    // Not at once, so that a watchdog that cannot run at all is not restarted in a tight loop.
    if (held.size > 0) setTimeout(() => held.size > 0 && ensureWatchdog(), RESTART_MS).unref();
  });
  // Written to after it died: EPIPE. The next attempt starts a new one.
  child.stdin!.on("error", forget);
  // Neither may keep the worker's event loop alive: the watchdog outlives nothing but the worker.
  child.unref();
  (child.stdin as Socket).unref();
  for (const [id, h] of held) send(entry(id, h));
}

/**
 * Has the watchdog end the group if this process dies before `release` is called. `startTime` is
 * the leader's (from /proc), so that a pid reused by then is left alone; null when unknown.
 */
export function watchGroup(pgid: number, startTime: number | null, graceMs: number): { release(): void } {
  const id = nextId++;
  const h = { pgid, startTime, graceMs };
  held.set(id, h);
  if (dog === null) ensureWatchdog();
  else send(entry(id, h));
  return {
    release() {
      if (!held.delete(id)) return;
      send(`- ${id}`);
    },
  };
}
