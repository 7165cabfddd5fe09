-- 003: cron schedules. next_at is the next tick not yet fired; firing a tick moves it on in the
-- same transaction as the job it adds, so each tick fires once across every worker.
CREATE TABLE cron_schedules (
  name       TEXT PRIMARY KEY,
  pattern    TEXT NOT NULL,
  timezone   TEXT NOT NULL,
  queue      TEXT NOT NULL,
  kind       TEXT NOT NULL,
  payload    TEXT NOT NULL,
  priority   INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
  -- NULL: the pattern has no tick left.
  next_at    INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX cron_schedules_due ON cron_schedules (next_at) WHERE next_at IS NOT NULL;
