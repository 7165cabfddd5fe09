#!/usr/bin/env bash
# runway-wrapper RUN_DIR: runs one job inside its tmux pane and records how it ended on this
# server (SQLite row, state.json, exit_code file), whatever stops it.
#
# Evidence it leaves for reconciliation, strongest first:
#   exit_code   written by an inner recorder in the job's own process group, so it lands even
#               when this wrapper is SIGKILLed while the job goes on
#   lock        an flock taken here and inherited by the job: held while any of them lives,
#               released by the kernel on every kind of death
#   the row     RUNNING with boot id and pids; final status written once, by the first writer
set -u
RUN_DIR=$1
# shellcheck source=/dev/null
. "$RUN_DIR/job.env" # RUNWAY_RUN_ID RUNWAY_DB RUNWAY_WORKDIR, written by runway-ctl
ID=$RUNWAY_RUN_ID
DB=$RUNWAY_DB

now() { date +%s.%N; }
sql() { sqlite3 -batch "$DB" ".timeout 15000" "$1" >/dev/null 2>>"$RUN_DIR/wrapper.err"; }

BOOT_ID=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
CHILD=0
RC=""
GOT_SIG=""
DONE=0

exec 9>"$RUN_DIR/lock"
if ! flock -n 9; then
  echo "runway-wrapper: run $ID is already running" >&2
  DONE=1
  exit 75
fi
echo "$$" >"$RUN_DIR/wrapper.pid"

write_state() { # status code signal ended
  local tmp="$RUN_DIR/.state.json.$$"
  printf '{"run_id":"%s","status":"%s","exit_code":%s,"signal":%s,"ended_at":%s}\n' "$ID" "$1" "$2" "$3" "$4" >"$tmp" &&
    mv -f "$tmp" "$RUN_DIR/state.json"
}

# The EXIT trap runs on a normal end and after TERM, HUP or INT; never after SIGKILL (the
# recorder and the lock cover that).
finalize() {
  [ "$DONE" = 1 ] && return
  DONE=1
  local ended code=NULL sig=NULL status reason=NULL
  ended=$(now)
  if [ -z "$RC" ] && [ -s "$RUN_DIR/exit_code" ]; then read -r RC <"$RUN_DIR/exit_code"; fi
  if [ -n "$RC" ]; then
    code=$RC
    [ "$RC" -gt 128 ] && sig=$((RC - 128))
  fi
  if [ -f "$RUN_DIR/cancel_requested" ]; then
    status=CANCELLED
  elif [ -z "$RC" ]; then
    status=FAILED
    reason="'wrapper_interrupted:${GOT_SIG:-unknown}'"
  elif [ "$RC" = 0 ]; then
    status=SUCCEEDED
  else
    status=FAILED
    [ -n "$GOT_SIG" ] && reason="'wrapper_signal:$GOT_SIG'"
  fi
  sql "UPDATE runs SET status='$status', exit_code=$code, signal=$sig, ended_at=$ended, reason=$reason, updated_at=$ended
       WHERE run_id='$ID' AND status IN ('STARTING','RUNNING');"
  write_state "$status" "$code" "$sig" "$ended"
}
on_signal() {
  GOT_SIG=$1
  [ "$CHILD" -gt 0 ] && kill -TERM -- "-$CHILD" 2>/dev/null
}
trap finalize EXIT
trap 'on_signal HUP' HUP
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

STARTED=$(now)
sql "UPDATE runs SET status='RUNNING', started_at=$STARTED, wrapper_pid=$$, boot_id='$BOOT_ID', updated_at=$STARTED
     WHERE run_id='$ID' AND status='STARTING';"

if ! cd "$RUNWAY_WORKDIR" 2>>"$RUN_DIR/output.log"; then
  echo "runway-wrapper: cannot enter $RUNWAY_WORKDIR" >>"$RUN_DIR/output.log"
  RC=127
  exit 127
fi

# The job gets its own session and process group (pgid = $CHILD); the recorder shell leading it
# catches TERM/INT/HUP (so it outlives a signal to the group and writes the exit code) while the
# job keeps the default actions. Its argv0 "runway-job-<id>" marks the group as this run's.
# The recorder writes job.pgid itself, once it leads its own session: until then it is still in
# the wrapper's group, and a hangup to the pane (the wrapper killed) would take it down too.
setsid bash -c 'trap : TERM INT HUP
  echo "$$" >"$2/.job.pgid.tmp" && mv -f "$2/.job.pgid.tmp" "$2/job.pgid"
  bash "$1" >>"$2/output.log" 2>&1 </dev/null
  rc=$?
  echo "$rc" >"$2/.exit_code.tmp" && mv -f "$2/.exit_code.tmp" "$2/exit_code"
  exit "$rc"' "runway-job-$ID" "$RUN_DIR/cmd.sh" "$RUN_DIR" &
CHILD=$!
while [ ! -s "$RUN_DIR/job.pgid" ] && kill -0 "$CHILD" 2>/dev/null; do sleep 0.01; done
sql "UPDATE runs SET job_pgid=$CHILD WHERE run_id='$ID';"

# wait returns early when a trapped signal arrives; only the child's own end counts.
while :; do
  wait "$CHILD"
  rc=$?
  kill -0 "$CHILD" 2>/dev/null && continue
  RC=$rc
  break
done
exit "$RC"
