-- Input blobs: uploaded once, stored in parts so that neither upload nor
-- download holds a whole file, shared by every project that uploads the
-- same bytes. A blob is complete once its input_blobs row exists; parts
-- without one are an upload still going (or abandoned). Module blobs stay
-- in blobs. Times are Unix milliseconds (UTC).
CREATE TABLE blob_parts (
    sha256 TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (sha256, seq)
);

CREATE TABLE input_blobs (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    part_size  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- A project may use the blobs it uploaded, and sees no others.
CREATE TABLE project_blobs (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    sha256     TEXT    NOT NULL REFERENCES input_blobs (sha256),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, sha256)
);

-- A unit cut from a blob keeps its range instead of an inline input.
ALTER TABLE units ADD COLUMN input_blob   TEXT    NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN input_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN input_length INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN input_sha256 TEXT    NOT NULL DEFAULT '';
CREATE INDEX units_input_blob ON units (input_blob) WHERE input_blob <> '';

-- Job submissions by Idempotency-Key, per project.
CREATE TABLE idempotency_keys (
    project_id   INTEGER NOT NULL REFERENCES projects (id),
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    job_id       INTEGER NOT NULL REFERENCES jobs (id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, key)
);
