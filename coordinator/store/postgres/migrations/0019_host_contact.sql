-- Host contact: the preferences a contributor sets on the web for all of
-- their workers (JSON of workunits.WebPreferences, absent fields not set;
-- version goes up by one at each change, so a worker sees it changed), and
-- the state each host's worker last reported.
CREATE TABLE contributor_preferences (
    contributor_id BIGINT      PRIMARY KEY REFERENCES contributors (id),
    preferences    JSONB       NOT NULL,
    version        BIGINT      NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
ALTER TABLE hosts ADD COLUMN state TEXT CHECK (state IN ('running', 'suspended', 'idle')); -- NULL: never reported
ALTER TABLE hosts ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN state_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN state_at TIMESTAMPTZ;
ALTER TABLE hosts ADD COLUMN tasks_running INTEGER NOT NULL DEFAULT 0;
