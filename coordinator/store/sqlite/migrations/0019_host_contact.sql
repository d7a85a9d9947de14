-- Host contact: the preferences a contributor sets on the web for all of
-- their workers (JSON of workunits.WebPreferences, absent fields not set;
-- version goes up by one at each change, so a worker sees it changed), and
-- the state each host's worker last reported. Times are Unix milliseconds
-- (UTC).
CREATE TABLE contributor_preferences (
    contributor_id INTEGER PRIMARY KEY REFERENCES contributors (id),
    preferences    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
ALTER TABLE hosts ADD COLUMN state TEXT CHECK (state IN ('running', 'suspended', 'idle')); -- NULL: never reported
ALTER TABLE hosts ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN state_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN state_at INTEGER;
ALTER TABLE hosts ADD COLUMN tasks_running INTEGER NOT NULL DEFAULT 0;
