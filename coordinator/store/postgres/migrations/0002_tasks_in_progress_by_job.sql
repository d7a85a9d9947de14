-- Finding whether a job still has tasks out, without counting them, so the
-- check costs the same for a job of ten units or a hundred thousand.
CREATE INDEX tasks_in_progress_job ON tasks (job_id) WHERE state = 'in_progress';
