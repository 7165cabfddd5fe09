-- 005: jobs by end time, for what happened since a moment (the live event stream, the dashboard's
-- timeline) without reading the whole table.
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;
