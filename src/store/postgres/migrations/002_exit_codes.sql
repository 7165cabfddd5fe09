-- 002: the exit code of a shell job's attempt, kept with the job and with each attempt.
ALTER TABLE :SCHEMA.jobs ADD COLUMN exit_code integer;
ALTER TABLE :SCHEMA.job_attempts ADD COLUMN exit_code integer;
