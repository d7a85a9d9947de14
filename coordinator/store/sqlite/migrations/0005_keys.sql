-- Projects get members and many API keys. A key belongs to one member of
-- one project and acts with its role, at most the member's. The secret is
-- kept only as its SHA-256; prefix is its first 8 characters, to tell keys
-- apart in a list ('' for the keys moved here, whose text was never kept).
-- Times are Unix milliseconds (UTC).
CREATE TABLE project_members (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'researcher', 'viewer')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE INDEX project_members_project ON project_members (project_id);
CREATE UNIQUE INDEX project_members_email ON project_members (project_id, lower(email))
    WHERE removed_at IS NULL AND email <> '';

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    member_id  INTEGER NOT NULL REFERENCES project_members (id),
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'researcher', 'viewer')),
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_project ON api_keys (project_id);
CREATE INDEX api_keys_member ON api_keys (member_id);

-- Each project's one key becomes the key of an admin member named "admin".
INSERT INTO project_members (project_id, name, email, role, created_at)
    SELECT id, 'admin', '', 'admin', created_at FROM projects ORDER BY id;
INSERT INTO api_keys (project_id, member_id, name, role, key_hash, prefix, created_at)
    SELECT p.id, m.id, 'initial', 'admin', p.key_hash, '', p.created_at
    FROM projects p JOIN project_members m ON m.project_id = p.id ORDER BY p.id;

-- projects.key_hash is no longer read, and new projects leave it NULL; the
-- hashes already there stay, as a record of each project's first key.
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt: copied
-- aside, dropped and made again under its own name, so that the tables
-- referring to it keep doing so. Dropping it breaks their references for a
-- moment; deferred, the check counts them back as the rows return, and
-- the commit fails if one were missing.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE projects_before_0005 AS SELECT id, name, key_hash, created_at FROM projects;
DROP TABLE projects;
CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    key_hash   TEXT    UNIQUE,
    created_at INTEGER NOT NULL
);
INSERT INTO projects (id, name, key_hash, created_at)
    SELECT id, name, key_hash, created_at FROM projects_before_0005 ORDER BY id;
DROP TABLE projects_before_0005;
