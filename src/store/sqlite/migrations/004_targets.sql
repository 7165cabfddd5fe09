-- 004: remote targets. A job with a target runs there, claimed only by that target's lane and
-- within the target's own limit; `remote` records the attempt's run before it is launched, so a
-- worker that takes the job over adopts the run instead of starting it again.
CREATE TABLE targets (
  name        TEXT PRIMARY KEY,
  host        TEXT NOT NULL,
  port        INTEGER,
  identity    TEXT,
  dir         TEXT NOT NULL,
  sync        TEXT,
  excludes    TEXT NOT NULL DEFAULT '[]',
  concurrency INTEGER NOT NULL DEFAULT 1 CHECK (concurrency >= 1),
  created_at  INTEGER NOT NULL,
  reachable   INTEGER,
  message     TEXT,
  checked_at  INTEGER
);

ALTER TABLE jobs ADD COLUMN target TEXT;
ALTER TABLE jobs ADD COLUMN remote TEXT;

CREATE INDEX jobs_target_ready ON jobs (target, queue, priority, position, id) WHERE status = 'queued' AND target IS NOT NULL;
CREATE INDEX jobs_target_active ON jobs (target, status) WHERE target IS NOT NULL AND status IN ('queued', 'scheduled', 'blocked', 'running');
