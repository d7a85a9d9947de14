-- Times are Unix milliseconds (UTC); NULL where not yet known.

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE contributors (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE hosts (
    id              INTEGER PRIMARY KEY,
    contributor_id  INTEGER NOT NULL REFERENCES contributors (id),
    name            TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    cores           INTEGER NOT NULL,
    token_hash      TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    last_contact_at INTEGER
);
CREATE INDEX hosts_contributor ON hosts (contributor_id);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    data   BLOB NOT NULL
);

CREATE TABLE apps (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    name       TEXT    NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE app_versions (
    id            INTEGER PRIMARY KEY,
    app_id        INTEGER NOT NULL REFERENCES apps (id),
    version       INTEGER NOT NULL,
    module_sha256 TEXT    NOT NULL REFERENCES blobs (sha256),
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (app_id, version)
);
CREATE INDEX app_versions_module ON app_versions (module_sha256);

CREATE TABLE jobs (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects (id),
    app_version_id     INTEGER NOT NULL REFERENCES app_versions (id),
    min_quorum         INTEGER NOT NULL,
    target_replicas    INTEGER NOT NULL,
    max_error_replicas INTEGER NOT NULL,
    max_total_replicas INTEGER NOT NULL,
    deadline_ms        INTEGER NOT NULL,
    reward_micros      INTEGER NOT NULL,
    state              TEXT    NOT NULL,
    unit_count         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    finished_at        INTEGER
);

CREATE TABLE units (
    id                INTEGER PRIMARY KEY,
    job_id            INTEGER NOT NULL REFERENCES jobs (id),
    seq               INTEGER NOT NULL,
    input             BLOB    NOT NULL,
    state             TEXT    NOT NULL,
    canonical_task_id INTEGER,
    error             TEXT    NOT NULL DEFAULT '',
    UNIQUE (job_id, seq)
);
CREATE INDEX units_open ON units (job_id) WHERE state = 'open';

CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units (id),
    job_id         INTEGER NOT NULL REFERENCES jobs (id), -- copied from the unit, so leasing can walk jobs in order by index
    host_id        INTEGER REFERENCES hosts (id),
    state          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL DEFAULT '',
    validate_state TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER,
    deadline_at    INTEGER,
    received_at    INTEGER,
    output_sha256  TEXT    NOT NULL DEFAULT '',
    output         BLOB,
    cpu_micros     INTEGER NOT NULL DEFAULT 0,
    stderr         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX tasks_unit ON tasks (unit_id);
CREATE INDEX tasks_host ON tasks (host_id);
CREATE INDEX tasks_unsent ON tasks (job_id, id) WHERE state = 'unsent';
CREATE INDEX tasks_deadline ON tasks (deadline_at) WHERE state = 'in_progress';

-- The ledger is append-only: corrections are new transactions.
CREATE TABLE ledger_transactions (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    memo       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT    NOT NULL,
    amount         INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Running balances, kept with every entry so that floors are checked
-- without summing history; the audit recomputes them from the entries.
CREATE TABLE ledger_balances (
    account TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);

CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
