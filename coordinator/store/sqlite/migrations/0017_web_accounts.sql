-- Web accounts: a contributor may sign in to the dashboard with an email and
-- a password (bcrypt). Contributors made through the API keep an empty email
-- and password hash and sign in with their account key only. The email is
-- unique without regard to case; display_name is what the leaderboard shows
-- when the contributor opts in. Times are Unix milliseconds (UTC).
ALTER TABLE contributors ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE contributors ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE contributors ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE contributors ADD COLUMN leaderboard_opt_in INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX contributors_email ON contributors (lower(email)) WHERE email <> '';

-- A dashboard session: only the SHA-256 of its cookie's token is kept. The
-- CSRF secret goes into every form of the session's pages.
CREATE TABLE sessions (
    token_hash     TEXT    PRIMARY KEY,
    contributor_id INTEGER NOT NULL REFERENCES contributors (id),
    csrf_secret    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL
);
CREATE INDEX sessions_contributor ON sessions (contributor_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
