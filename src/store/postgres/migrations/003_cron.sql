-- 003: cron schedules. next_at is the next tick not yet fired; firing a tick moves it on in the
-- same transaction as the job it adds, so each tick fires once across every worker.
CREATE TABLE :SCHEMA.cron_schedules (
  name       text PRIMARY KEY,
  pattern    text NOT NULL,
  timezone   text NOT NULL,
  queue      text NOT NULL,
  kind       text NOT NULL,
  payload    text NOT NULL,
  priority   smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
  -- NULL: the pattern has no tick left.
  next_at    bigint,
  created_at bigint NOT NULL
);
CREATE INDEX cron_schedules_due ON :SCHEMA.cron_schedules (next_at) WHERE next_at IS NOT NULL;
