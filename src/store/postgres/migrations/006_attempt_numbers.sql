-- 006: every attempt gets a number of its own. `attempts` stays the budget spent (a requeue resets
-- it); `attempt` numbers the latest attempt and only grows. Existing jobs continue after the
-- highest number their history holds, so nothing recorded is renumbered or lost.
ALTER TABLE :SCHEMA.jobs ADD COLUMN attempt integer NOT NULL DEFAULT 0;
UPDATE :SCHEMA.jobs j SET attempt = greatest(j.attempts, coalesce((SELECT max(a.attempt) FROM :SCHEMA.job_attempts a WHERE a.job_id = j.id), 0));
