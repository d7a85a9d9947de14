-- Fair share: a project's weight among those with work, a job's priority
-- within its project, and each project's pass (stride scheduling's virtual
-- time: it advances by 1e9 / share per task leased).
ALTER TABLE projects ADD COLUMN share INTEGER NOT NULL DEFAULT 100 CHECK (share > 0);
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;

CREATE TABLE project_usage (
    project_id INTEGER PRIMARY KEY REFERENCES projects (id),
    pass       INTEGER NOT NULL
);

-- Waiting jobs (unfunded) are funded by priority, then age.
CREATE INDEX jobs_waiting ON jobs (project_id, priority DESC, id) WHERE state = 'waiting';
-- Leasing looks up the active jobs.
CREATE INDEX jobs_active ON jobs (project_id) WHERE state = 'active';
