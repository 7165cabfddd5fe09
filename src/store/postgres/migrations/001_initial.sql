-- 001: jobs, queues, dependencies, attempts, logs, escalation rules.
-- The same migration numbers as the SQLite store. :SCHEMA is replaced by the quoted schema name.

-- Fencing tokens: a later claim always holds a larger token.
CREATE SEQUENCE :SCHEMA.lease_token;

CREATE TABLE :SCHEMA.queues (
  name        text PRIMARY KEY,
  state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'stopped')),
  -- NULL: no limit. Default 1: one job at a time, in order.
  concurrency integer DEFAULT 1 CHECK (concurrency IS NULL OR concurrency >= 1),
  created_at  bigint NOT NULL
);

CREATE TABLE :SCHEMA.jobs (
  id               text PRIMARY KEY,
  queue            text NOT NULL,
  kind             text NOT NULL,
  payload          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('queued', 'scheduled', 'blocked', 'running', 'completed', 'failed', 'cancelled', 'skipped')),
  priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
  position         double precision NOT NULL,
  name             text,
  labels           text NOT NULL DEFAULT '{}',
  -- A copy of this job's rows in job_deps, so reading a job needs no join.
  depends_on       text NOT NULL DEFAULT '[]',
  max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
  attempts         integer NOT NULL DEFAULT 0,
  backoff          text NOT NULL,
  timeout_ms       bigint,
  unique_key       text,
  run_at           bigint NOT NULL,
  result           text,
  error            text,
  reason           text,
  progress         text,
  escalated_from   text,
  escalated_to     text,
  -- The job whose end skipped this one (the root of the cascade), so requeueing it can undo the skip.
  skipped_by       text,
  worker_id        text,
  lease_token      bigint,
  lease_expires_at bigint,
  -- 'cancel' or 'requeue': a person asked the running attempt to stop.
  abort_requested  text,
  created_at       bigint NOT NULL,
  started_at       bigint,
  finished_at      bigint
);

-- The claim reads this index in claim order and nothing else.
CREATE INDEX jobs_ready ON :SCHEMA.jobs (queue, priority, position, id) WHERE status = 'queued';
CREATE INDEX jobs_running ON :SCHEMA.jobs (queue) WHERE status = 'running';
CREATE INDEX jobs_waiting ON :SCHEMA.jobs (queue, status) WHERE status IN ('scheduled', 'blocked');
CREATE INDEX jobs_finished ON :SCHEMA.jobs (queue, status, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_due ON :SCHEMA.jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_skipped_by ON :SCHEMA.jobs (skipped_by) WHERE skipped_by IS NOT NULL;
CREATE INDEX jobs_escalated_from ON :SCHEMA.jobs (escalated_from) WHERE escalated_from IS NOT NULL;
-- A unique key is held only while its job can still run; the database enforces it.
CREATE UNIQUE INDEX jobs_unique_key ON :SCHEMA.jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('queued', 'scheduled', 'blocked', 'running');
-- A queue table churns fast: vacuum it early so dead rows do not pile up at the head of jobs_ready.
ALTER TABLE :SCHEMA.jobs SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.05);

CREATE TABLE :SCHEMA.job_deps (
  job_id     text NOT NULL,
  depends_on text NOT NULL,
  PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX job_deps_upstream ON :SCHEMA.job_deps (depends_on, job_id);

CREATE TABLE :SCHEMA.job_attempts (
  seq         bigserial PRIMARY KEY,
  job_id      text NOT NULL,
  attempt     integer NOT NULL,
  worker_id   text,
  started_at  bigint NOT NULL,
  finished_at bigint NOT NULL,
  outcome     text NOT NULL,
  error       text
);
CREATE INDEX job_attempts_job ON :SCHEMA.job_attempts (job_id, seq);

CREATE TABLE :SCHEMA.job_logs (
  seq     bigserial PRIMARY KEY,
  job_id  text NOT NULL,
  attempt integer NOT NULL,
  at      bigint NOT NULL,
  line    text NOT NULL
);
CREATE INDEX job_logs_job ON :SCHEMA.job_logs (job_id, seq);

CREATE TABLE :SCHEMA.escalation_rules (
  queue    text NOT NULL DEFAULT '',
  kind     text NOT NULL DEFAULT '',
  after    integer NOT NULL CHECK (after >= 1),
  to_queue text,
  to_kind  text,
  PRIMARY KEY (queue, kind)
);
