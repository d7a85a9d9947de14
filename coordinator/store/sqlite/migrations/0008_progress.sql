-- Progress: when each unit finished (Unix ms, NULL while open), so a job's
-- throughput over the last hour is a range count on an index instead of a
-- scan of its tasks; units listed by state in seq order; a project's jobs
-- newest first; the latest failing tasks of a job without reading the rest.
ALTER TABLE units ADD COLUMN finished_at INTEGER;
UPDATE units SET finished_at = (SELECT max(t.received_at) FROM tasks t WHERE t.unit_id = units.id)
    WHERE state <> 'open';
CREATE INDEX units_finished ON units (job_id, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX units_job_state_seq ON units (job_id, state, seq);
CREATE INDEX jobs_project ON jobs (project_id, id);
CREATE INDEX tasks_errors ON tasks (job_id, received_at) WHERE outcome = 'error';
