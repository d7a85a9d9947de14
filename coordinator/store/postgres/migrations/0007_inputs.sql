-- Input blobs: uploaded once, stored in parts so that neither upload nor
-- download holds a whole file, shared by every project (and coordinator)
-- that uses the same bytes. A blob is complete once its input_blobs row
-- exists; parts without one are an upload still going (or abandoned).
-- Module blobs stay in blobs.
CREATE TABLE blob_parts (
    sha256 TEXT   NOT NULL,
    seq    BIGINT NOT NULL,
    data   BYTEA  NOT NULL,
    PRIMARY KEY (sha256, seq)
);

CREATE TABLE input_blobs (
    sha256     TEXT        PRIMARY KEY,
    size       BIGINT      NOT NULL,
    part_size  BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- A project may use the blobs it uploaded, and sees no others.
CREATE TABLE project_blobs (
    project_id BIGINT      NOT NULL REFERENCES projects (id),
    sha256     TEXT        NOT NULL REFERENCES input_blobs (sha256),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, sha256)
);

-- A unit cut from a blob keeps its range instead of an inline input.
ALTER TABLE units ADD COLUMN input_blob   TEXT   NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN input_offset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN input_length BIGINT NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN input_sha256 TEXT   NOT NULL DEFAULT '';
CREATE INDEX units_input_blob ON units (input_blob) WHERE input_blob <> '';

-- Job submissions by Idempotency-Key, per project.
CREATE TABLE idempotency_keys (
    project_id   BIGINT      NOT NULL REFERENCES projects (id),
    key          TEXT        NOT NULL,
    request_hash TEXT        NOT NULL,
    job_id       BIGINT      NOT NULL REFERENCES jobs (id),
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, key)
);
