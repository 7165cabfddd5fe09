-- 001: jobs, queues, dependencies, attempts, logs, escalation rules.
-- The same migration numbers are used by every store.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
-- Fencing tokens come from one counter, so a later claim always holds a larger token.
INSERT INTO meta (key, value) VALUES ('lease_token', 0);

CREATE TABLE queues (
  name        TEXT PRIMARY KEY,
  state       TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'stopped')),
  -- NULL: no limit. Default 1: one job at a time, in order.
  concurrency INTEGER DEFAULT 1 CHECK (concurrency IS NULL OR concurrency >= 1),
  created_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  queue            TEXT NOT NULL,
  kind             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'scheduled', 'blocked', 'running', 'completed', 'failed', 'cancelled', 'skipped')),
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
  position         REAL NOT NULL,
  name             TEXT,
  labels           TEXT NOT NULL DEFAULT '{}',
  -- A copy of this job's rows in job_deps, so reading a job needs no join.
  depends_on       TEXT NOT NULL DEFAULT '[]',
  max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
  attempts         INTEGER NOT NULL DEFAULT 0,
  backoff          TEXT NOT NULL,
  timeout_ms       INTEGER,
  unique_key       TEXT,
  run_at           INTEGER NOT NULL,
  result           TEXT,
  error            TEXT,
  reason           TEXT,
  progress         TEXT,
  escalated_from   TEXT,
  escalated_to     TEXT,
  -- The job whose end skipped this one (the root of the cascade), so requeueing it can undo the skip.
  skipped_by       TEXT,
  worker_id        TEXT,
  lease_token      INTEGER,
  lease_expires_at INTEGER,
  -- 'cancel' or 'requeue': a person asked the running attempt to stop.
  abort_requested  TEXT,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER
);

-- The claim reads this index in claim order and nothing else.
CREATE INDEX jobs_ready ON jobs (queue, priority, position, id) WHERE status = 'queued';
-- Partial indexes per phase of a job's life, so adding a ready job writes only jobs_ready and
-- each later step touches the one index of the phase it leaves and the one it enters.
CREATE INDEX jobs_running ON jobs (queue) WHERE status = 'running';
CREATE INDEX jobs_waiting ON jobs (queue, status) WHERE status IN ('scheduled', 'blocked');
CREATE INDEX jobs_finished ON jobs (queue, status, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_skipped_by ON jobs (skipped_by) WHERE skipped_by IS NOT NULL;
CREATE INDEX jobs_escalated_from ON jobs (escalated_from) WHERE escalated_from IS NOT NULL;
-- A unique key is held only while its job can still run; the database enforces it.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('queued', 'scheduled', 'blocked', 'running');

CREATE TABLE job_deps (
  job_id     TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  PRIMARY KEY (job_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX job_deps_upstream ON job_deps (depends_on, job_id);

CREATE TABLE job_attempts (
  seq         INTEGER PRIMARY KEY,
  job_id      TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  worker_id   TEXT,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome     TEXT NOT NULL,
  error       TEXT
);
CREATE INDEX job_attempts_job ON job_attempts (job_id, seq);

CREATE TABLE job_logs (
  seq     INTEGER PRIMARY KEY,
  job_id  TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  line    TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, seq);

CREATE TABLE escalation_rules (
  queue    TEXT NOT NULL DEFAULT '',
  kind     TEXT NOT NULL DEFAULT '',
  after    INTEGER NOT NULL CHECK (after >= 1),
  to_queue TEXT,
  to_kind  TEXT,
  PRIMARY KEY (queue, kind)
);
