-- 002: the exit code of a shell job's attempt, kept with the job and with each attempt.
ALTER TABLE jobs ADD COLUMN exit_code INTEGER;
ALTER TABLE job_attempts ADD COLUMN exit_code INTEGER;
