-- The same tables as the SQLite store. Times are timestamptz written in UTC
-- and truncated to the millisecond; NULL where not yet known.

CREATE TABLE projects (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL,
    key_hash   TEXT        NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE contributors (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL,
    key_hash   TEXT        NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE hosts (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contributor_id  BIGINT      NOT NULL REFERENCES contributors (id),
    name            TEXT        NOT NULL,
    platform        TEXT        NOT NULL,
    cores           INTEGER     NOT NULL,
    token_hash      TEXT        NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    last_contact_at TIMESTAMPTZ
);
CREATE INDEX hosts_contributor ON hosts (contributor_id);

CREATE TABLE blobs (
    sha256 TEXT  PRIMARY KEY,
    data   BYTEA NOT NULL
);

CREATE TABLE apps (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    name       TEXT   NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE app_versions (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id        BIGINT      NOT NULL REFERENCES apps (id),
    version       INTEGER     NOT NULL,
    module_sha256 TEXT        NOT NULL REFERENCES blobs (sha256),
    size          BIGINT      NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (app_id, version)
);
CREATE INDEX app_versions_module ON app_versions (module_sha256);

CREATE TABLE jobs (
    id                 BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id         BIGINT      NOT NULL REFERENCES projects (id),
    app_version_id     BIGINT      NOT NULL REFERENCES app_versions (id),
    min_quorum         INTEGER     NOT NULL,
    target_replicas    INTEGER     NOT NULL,
    max_error_replicas INTEGER     NOT NULL,
    max_total_replicas INTEGER     NOT NULL,
    deadline_ms        BIGINT      NOT NULL,
    reward_micros      BIGINT      NOT NULL,
    state              TEXT        NOT NULL,
    unit_count         INTEGER     NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ
);

CREATE TABLE units (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id            BIGINT  NOT NULL REFERENCES jobs (id),
    seq               INTEGER NOT NULL,
    input             BYTEA   NOT NULL,
    state             TEXT    NOT NULL,
    canonical_task_id BIGINT,
    error             TEXT    NOT NULL DEFAULT '',
    UNIQUE (job_id, seq)
);
CREATE INDEX units_open ON units (job_id) WHERE state = 'open';

CREATE TABLE tasks (
    id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id        BIGINT      NOT NULL REFERENCES units (id),
    job_id         BIGINT      NOT NULL REFERENCES jobs (id), -- copied from the unit, so leasing can walk jobs in order by index
    host_id        BIGINT      REFERENCES hosts (id),
    state          TEXT        NOT NULL,
    outcome        TEXT        NOT NULL DEFAULT '',
    validate_state TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    sent_at        TIMESTAMPTZ,
    deadline_at    TIMESTAMPTZ,
    received_at    TIMESTAMPTZ,
    output_sha256  TEXT        NOT NULL DEFAULT '',
    output         BYTEA,
    cpu_micros     BIGINT      NOT NULL DEFAULT 0,
    stderr         TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX tasks_unit ON tasks (unit_id);
CREATE INDEX tasks_host ON tasks (host_id);
CREATE INDEX tasks_unsent ON tasks (job_id, id) WHERE state = 'unsent';
CREATE INDEX tasks_deadline ON tasks (deadline_at) WHERE state = 'in_progress';

-- The ledger is append-only: corrections are new transactions.
CREATE TABLE ledger_transactions (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        TEXT        NOT NULL UNIQUE,
    memo       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ledger_entries (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT   NOT NULL,
    amount         BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Running balances, kept with every entry so that floors are checked
-- without summing history; the audit recomputes them from the entries.
CREATE TABLE ledger_balances (
    account TEXT   PRIMARY KEY,
    balance BIGINT NOT NULL
);

-- Statement-level, so a statement is refused even when it matches no row,
-- and TRUNCATE is refused too.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
