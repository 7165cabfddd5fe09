-- 006: every attempt gets a number of its own. `attempts` stays the budget spent (a requeue resets
-- it); `attempt` numbers the latest attempt and only grows. Existing jobs continue after the
-- highest number their history holds, so nothing recorded is renumbered or lost.
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET attempt = max(attempts, coalesce((SELECT max(a.attempt) FROM job_attempts a WHERE a.job_id = jobs.id), 0));
