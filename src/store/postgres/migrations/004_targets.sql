-- 004: remote targets. A job with a target runs there, claimed only by that target's lane and
-- within the target's own limit; `remote` records the attempt's run before it is launched, so a
-- worker that takes the job over adopts the run instead of starting it again.
CREATE TABLE :SCHEMA.targets (
  name        text PRIMARY KEY,
  host        text NOT NULL,
  port        integer,
  identity    text,
  dir         text NOT NULL,
  sync        text,
  excludes    text NOT NULL DEFAULT '[]',
  concurrency integer NOT NULL DEFAULT 1 CHECK (concurrency >= 1),
  created_at  bigint NOT NULL,
  reachable   boolean,
  message     text,
  checked_at  bigint
);

ALTER TABLE :SCHEMA.jobs ADD COLUMN target text;
ALTER TABLE :SCHEMA.jobs ADD COLUMN remote text;

CREATE INDEX jobs_target_ready ON :SCHEMA.jobs (target, queue, priority, position, id) WHERE status = 'queued' AND target IS NOT NULL;
CREATE INDEX jobs_target_active ON :SCHEMA.jobs (target, status) WHERE target IS NOT NULL AND status IN ('queued', 'scheduled', 'blocked', 'running');
