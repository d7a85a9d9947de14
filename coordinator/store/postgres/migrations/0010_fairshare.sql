-- Fair share: a project's weight among those with work, a job's priority
-- within its project, and each project's pass (stride scheduling's virtual
-- time: it advances by 1e9 / share per task leased). The pass lives in its
-- own table so that leasing does not lock the projects row, and is the sum
-- of stripes: each lease adds to the stripe of its contributor (id mod 16),
-- so that concurrent leases from one project rarely wait for each other's
-- commit to advance it.
ALTER TABLE projects ADD COLUMN share INTEGER NOT NULL DEFAULT 100 CHECK (share > 0);
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;

CREATE TABLE project_usage (
    project_id BIGINT   NOT NULL REFERENCES projects (id),
    stripe     SMALLINT NOT NULL,
    pass       BIGINT   NOT NULL,
    PRIMARY KEY (project_id, stripe)
);

-- Waiting jobs (unfunded) are funded by priority, then age.
CREATE INDEX jobs_waiting ON jobs (project_id, priority DESC, id) WHERE state = 'waiting';
-- Leasing looks up the active jobs.
CREATE INDEX jobs_active ON jobs (project_id) WHERE state = 'active';
