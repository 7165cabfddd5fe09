#!/usr/bin/env bash
# runway-ctl: the server side of a runway target, installed and versioned by runway.
#
#   runway-ctl version
#   runway-ctl init
#   runway-ctl launch RUN_ID GROUP MAX WORKDIR_MODE   (the job script on stdin)
#   runway-ctl status WAIT_MS RUN_ID...               (evidence for each run; waits up to WAIT_MS for one to end)
#   runway-ctl cancel RUN_ID GRACE_S
#   runway-ctl close RUN_ID [STATUS EXIT SIGNAL REASON]
#   runway-ctl tail RUN_ID OFFSET MAX
#   runway-ctl prune SECONDS                           (runs that ended longer ago: files and rows)
#
# Machine-readable output sits between marker lines, so whatever a login shell prints around it
# cannot be mistaken for it. Every id is checked here before it is used in a path or in SQL.
set -u
# Stamped at install with a digest of both scripts: a server with other scripts gets these installed.
RUNWAY_SERVER_VERSION=@VERSION@
BIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 70
HOME_DIR=$(dirname "$BIN_DIR")
DB="$HOME_DIR/server.db"
RUNS="$HOME_DIR/runs"
SOCK="$HOME_DIR/tmux.sock"

fail() {
  printf 'runway-ctl: %s\n' "$1" >&2
  exit "${2:-64}"
}
begin() { printf '__RUNWAY_BEGIN__\n'; }
end() { printf '__RUNWAY_END__\n'; }
valid_id() { [[ $1 =~ ^[A-Za-z0-9_-]{1,64}$ ]] || fail "invalid run id: $1"; }
valid_uint() { [[ $1 =~ ^[0-9]{1,9}$ ]] || fail "invalid number: $1"; }
sql() { sqlite3 -batch "$DB" ".timeout 15000" "$1"; }
tmx() { tmux -S "$SOCK" -f "$HOME_DIR/tmux.conf" "$@"; }

cmd_version() {
  begin
  printf 'version %s\n' "$RUNWAY_SERVER_VERSION"
  end
}

cmd_init() {
  umask 077
  mkdir -p "$RUNS" "$HOME_DIR/snapshots" || fail "cannot create $HOME_DIR" 73
  chmod 700 "$HOME_DIR"
  cat >"$HOME_DIR/tmux.conf" <<'EOF'
set -g remain-on-exit on
set -g history-limit 50000
set -g exit-empty off
EOF
  sql "PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS runs (
  run_id       TEXT PRIMARY KEY,
  grp          TEXT NOT NULL,
  session      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('STARTING','RUNNING','SUCCEEDED','FAILED','CANCELLED','LOST')),
  reason       TEXT,
  submitted_at REAL NOT NULL,
  started_at   REAL,
  ended_at     REAL,
  updated_at   REAL NOT NULL,
  exit_code    INTEGER,
  signal       INTEGER,
  wrapper_pid  INTEGER,
  job_pgid     INTEGER,
  boot_id      TEXT,
  workdir      TEXT
);
CREATE INDEX IF NOT EXISTS runs_active ON runs (grp, status);" >/dev/null || fail "cannot initialise $DB" 73
  begin
  printf 'ok %s\n' "$HOME_DIR"
  end
}

cmd_launch() {
  [ $# -eq 4 ] || fail "usage: launch RUN_ID GROUP MAX WORKDIR_MODE"
  local id=$1 grp=$2 max=$3 mode=$4
  valid_id "$id"
  valid_id "$grp"
  valid_uint "$max"
  local dir="$RUNS/$id" session="runway-$id" workdir
  case $mode in
  snapshot) workdir="$HOME_DIR/snapshots/$id" ;;
  home) workdir=$HOME ;;
  *) fail "invalid workdir mode: $mode" ;;
  esac
  mkdir -p "$dir" || fail "cannot create $dir" 73
  cat >"$dir/.cmd.sh.new" || fail "cannot write the job script" 73

  # One launch at a time on this server: the count below and the insert are one step.
  exec 8>"$HOME_DIR/dispatch.lock"
  flock -w 30 8 || fail "another launch holds $HOME_DIR/dispatch.lock" 75
  local existing running
  existing=$(sql "SELECT status FROM runs WHERE run_id='$id';") || fail "cannot read $DB" 74
  if [ -n "$existing" ]; then
    rm -f "$dir/.cmd.sh.new"
    begin
    printf 'already %s\n' "$existing"
    end
    return
  fi
  running=$(sql "SELECT count(*) FROM runs WHERE grp='$grp' AND status IN ('STARTING','RUNNING');") || fail "cannot read $DB" 74
  if [ "$running" -ge "$max" ]; then
    rm -f "$dir/.cmd.sh.new"
    begin
    printf 'busy %s\n' "$running"
    end
    return
  fi
  # Session names are exact (=name): "runway-<id>" never matches "runway-<id>x" by prefix.
  if tmx has-session -t "=$session" 2>/dev/null; then
    local owner
    owner=$(tmx show-options -v -t "=$session:" @runway_run 2>/dev/null)
    [ "$owner" = "$id" ] || fail "a tmux session named $session belongs to something else" 3
  fi
  mv -f "$dir/.cmd.sh.new" "$dir/cmd.sh"
  {
    printf 'RUNWAY_RUN_ID=%q\n' "$id"
    printf 'RUNWAY_DB=%q\n' "$DB"
    printf 'RUNWAY_WORKDIR=%q\n' "$workdir"
  } >"$dir/job.env"
  local t
  t=$(date +%s.%N)
  sql "INSERT INTO runs (run_id, grp, session, status, submitted_at, updated_at, workdir)
       VALUES ('$id', '$grp', '$session', 'STARTING', $t, $t, '${workdir//\'/\'\'}');" || fail "cannot write $DB" 74
  local err
  # 8>&-: the tmux server outlives this launch and must not inherit the dispatch lock with it.
  if ! err=$(tmx new-session -d -s "$session" -x 200 -y 50 -- bash "$BIN_DIR/runway-wrapper" "$dir" \; \
    set-option -t "=$session:" @runway_run "$id" 2>&1 8>&-); then
    sql "UPDATE runs SET status='FAILED', reason='launch_failed', updated_at=$t WHERE run_id='$id';"
    fail "tmux could not start the job: $err" 70
  fi
  begin
  printf 'launched\n'
  end
}

# Has this run visibly ended, or lost its wrapper? (cheap: files and /proc only)
settled() {
  local d="$RUNS/$1" pid
  [ -d "$d" ] || return 0
  [ -e "$d/state.json" ] && return 0
  [ -e "$d/exit_code" ] && return 0
  if [ -s "$d/wrapper.pid" ]; then
    read -r pid <"$d/wrapper.pid"
    kill -0 "$pid" 2>/dev/null || return 0
  fi
  return 1
}

proc_has() { # pid text: is pid alive with text in its command line?
  local cmd
  [ -r "/proc/$1/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
  [[ $cmd == *"$2"* ]]
}

cmd_status() {
  [ $# -ge 1 ] || fail "usage: status WAIT_MS RUN_ID..."
  local wait_ms=$1
  shift
  valid_uint "$wait_ms"
  local id
  for id in "$@"; do valid_id "$id"; done
  # Long poll: return as soon as one of the runs ends, or when the wait is over.
  local deadline=$(($(date +%s%3N) + wait_ms)) any
  while [ "$wait_ms" -gt 0 ] && [ $# -gt 0 ]; do
    any=0
    for id in "$@"; do settled "$id" && any=1 && break; done
    [ "$any" = 1 ] && break
    [ "$(date +%s%3N)" -ge "$deadline" ] && break
    sleep 0.1
  done
  local ids="" panes=""
  for id in "$@"; do ids="$ids${ids:+,}'$id'"; done
  panes=$(tmx list-panes -a -F '#{session_name} #{pane_dead} #{pane_dead_status} #{pane_dead_signal}' 2>/dev/null)
  begin
  printf 'boot %s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)"
  printf 'now %s\n' "$(date +%s.%N)"
  if [ -n "$ids" ] && [ -f "$DB" ]; then
    sql "SELECT 'row ' || json_object('run_id', run_id, 'status', status, 'reason', reason, 'exit_code', exit_code,
           'signal', signal, 'submitted_at', submitted_at, 'started_at', started_at, 'ended_at', ended_at,
           'boot_id', boot_id, 'wrapper_pid', wrapper_pid, 'job_pgid', job_pgid)
         FROM runs WHERE run_id IN ($ids);"
  fi
  for id in "$@"; do
    local d="$RUNS/$id" pid="" pgid="" code="-" wrapper=dead group=dead lock=free pane="-" cancel=0 line
    [ -d "$d" ] || {
      printf 'run %s dir=0\n' "$id"
      continue
    }
    [ -s "$d/exit_code" ] && read -r code <"$d/exit_code"
    [ -s "$d/wrapper.pid" ] && read -r pid <"$d/wrapper.pid"
    [ -s "$d/job.pgid" ] && read -r pgid <"$d/job.pgid"
    [ -n "$pid" ] && proc_has "$pid" "runway-wrapper" && wrapper=alive
    [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null && group=alive
    [ -e "$d/lock" ] && ! flock -n "$d/lock" true 2>/dev/null && lock=held
    [ -e "$d/cancel_requested" ] && cancel=1
    while IFS= read -r line; do
      case $line in "runway-$id "*) pane=${line#"runway-$id "} && pane=${pane// /\/} ;; esac
    done <<<"$panes"
    printf 'run %s dir=1 exit=%s wrapper=%s group=%s lock=%s cancel=%s pane=%s\n' \
      "$id" "$code" "$wrapper" "$group" "$lock" "$cancel" "$pane"
    if [ "$code" != "-" ] || [ -e "$d/state.json" ] || [ "$wrapper" = dead ]; then
      printf 'tail %s %s\n' "$id" "$(tail -c 65536 "$d/output.log" 2>/dev/null | base64 -w0)"
    fi
  done
  end
}

ours() { # run pgid: is this process group still the run's?
  kill -0 -- "-$2" 2>/dev/null || return 1
  proc_has "$2" "runway-job-$1" && return 0
  [ -e "$RUNS/$1/lock" ] && ! flock -n "$RUNS/$1/lock" true 2>/dev/null
}

cmd_cancel() {
  [ $# -eq 2 ] || fail "usage: cancel RUN_ID GRACE_S"
  local id=$1 grace=$2
  valid_id "$id"
  valid_uint "$grace"
  local d="$RUNS/$id" pgid="" pid="" outcome=not-running i
  [ -d "$d" ] || fail "no run $id on this server" 66
  touch "$d/cancel_requested"
  [ -s "$d/job.pgid" ] && read -r pgid <"$d/job.pgid"
  [ -s "$d/wrapper.pid" ] && read -r pid <"$d/wrapper.pid"
  # The group is signalled only while it is provably this run's: its leader carries the run's
  # marker, or the run's lock is held. A group id left over from an ended run may name someone
  # else's group by now.
  if [ -n "$pgid" ] && [ "$pgid" -gt 1 ] && ours "$id" "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null
    outcome=terminated
    for ((i = 0; i < grace * 10; i++)); do
      ours "$id" "$pgid" || break
      sleep 0.1
    done
    if ours "$id" "$pgid"; then
      kill -KILL -- "-$pgid" 2>/dev/null
      outcome=killed
    fi
  elif [ -n "$pid" ] && proc_has "$pid" "runway-wrapper"; then
    # Started, but the job's group is not there yet: the wrapper records the cancel as it ends.
    kill -TERM "$pid" 2>/dev/null
    outcome=terminated
  else
    sql "UPDATE runs SET status='CANCELLED', reason='cancelled_before_start', updated_at=$(date +%s.%N)
         WHERE run_id='$id' AND status='STARTING' AND wrapper_pid IS NULL;" >/dev/null
  fi
  begin
  printf '%s\n' "$outcome"
  end
}

cmd_close() {
  [ $# -eq 1 ] || [ $# -eq 5 ] || fail "usage: close RUN_ID [STATUS EXIT SIGNAL REASON]"
  local id=$1
  valid_id "$id"
  if [ $# -eq 5 ]; then
    local status=$2 code=$3 sig=$4 reason=$5
    case $status in SUCCEEDED | FAILED | CANCELLED | LOST) ;; *) fail "invalid status: $status" ;; esac
    [ "$code" = "-" ] && code=NULL || valid_uint "$code"
    [ "$sig" = "-" ] && sig=NULL || valid_uint "$sig"
    [[ $reason =~ ^[A-Za-z0-9_:./=-]{0,200}$ ]] || fail "invalid reason: $reason"
    local t
    t=$(date +%s.%N)
    sql "UPDATE runs SET status='$status', exit_code=$code, signal=$sig, reason='$reason', ended_at=coalesce(ended_at, $t), updated_at=$t
         WHERE run_id='$id' AND status IN ('STARTING','RUNNING');" >/dev/null
  fi
  # The pane was kept (remain-on-exit) for its exit status; once recorded it can go.
  tmx kill-session -t "=runway-$id" 2>/dev/null
  begin
  printf 'closed\n'
  end
}

cmd_tail() {
  [ $# -eq 3 ] || fail "usage: tail RUN_ID OFFSET MAX"
  local id=$1 offset=$2 max=$3
  valid_id "$id"
  valid_uint "$offset"
  valid_uint "$max"
  local f="$RUNS/$id/output.log" size=0 ended=0
  [ -d "$RUNS/$id" ] || fail "no run $id on this server" 66
  [ -f "$f" ] && size=$(stat -c %s "$f")
  settled "$id" && ended=1
  begin
  printf 'size %s ended %s\n' "$size" "$ended"
  if [ "$size" -gt "$offset" ]; then tail -c +"$((offset + 1))" "$f" | head -c "$max"; fi
}

cmd_prune() {
  [ $# -eq 1 ] || fail "usage: prune SECONDS"
  valid_uint "$1"
  local cutoff newest id n=0
  cutoff=$(($(date +%s) - $1))
  # The newest snapshot stays whatever its age: the next sync hard-links against it. (Not by
  # mtime: rsync gives a snapshot its project's.)
  newest=""
  while IFS= read -r id; do
    [ -d "$HOME_DIR/snapshots/$id" ] && newest=$id && break
  done < <(sql "SELECT run_id FROM runs ORDER BY submitted_at DESC;")
  while IFS= read -r id; do
    [[ $id =~ ^[A-Za-z0-9_-]{1,64}$ ]] || continue
    rm -rf "${RUNS:?}/$id"
    [ "$id" != "$newest" ] && rm -rf "$HOME_DIR/snapshots/$id"
    sql "DELETE FROM runs WHERE run_id='$id';" >/dev/null
    n=$((n + 1))
  done < <(sql "SELECT run_id FROM runs WHERE status NOT IN ('STARTING','RUNNING') AND coalesce(ended_at, updated_at) < $cutoff;")
  begin
  printf 'pruned %s\n' "$n"
  end
}

[ $# -ge 1 ] || fail "usage: runway-ctl COMMAND ..."
command=$1
shift
case $command in
version) cmd_version "$@" ;;
init) cmd_init "$@" ;;
launch) cmd_launch "$@" ;;
status) cmd_status "$@" ;;
cancel) cmd_cancel "$@" ;;
close) cmd_close "$@" ;;
tail) cmd_tail "$@" ;;
prune) cmd_prune "$@" ;;
*) fail "unknown command: $command" ;;
esac
