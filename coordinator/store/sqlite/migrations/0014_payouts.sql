-- Payout runs: each run takes every contributor whose available balance is
-- at least its threshold, one line per contributor, and holds the money
-- (ledger: payout:run:R:contributor:C) until the processor's result file
-- settles or returns it. key makes creating a run idempotent.
CREATE TABLE payout_runs (
    id               INTEGER PRIMARY KEY,
    key              TEXT    NOT NULL UNIQUE,
    threshold_micros INTEGER NOT NULL CHECK (threshold_micros > 0),
    created_at       INTEGER NOT NULL,
    exported_at      INTEGER,
    state            TEXT    NOT NULL CHECK (state IN ('open', 'closed'))
);

CREATE TABLE payout_lines (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES payout_runs (id),
    contributor_id INTEGER NOT NULL REFERENCES contributors (id),
    amount_micros  INTEGER NOT NULL CHECK (amount_micros > 0),
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'settled', 'returned')),
    reference      TEXT    NOT NULL DEFAULT '',
    updated_at     INTEGER NOT NULL,
    UNIQUE (run_id, contributor_id)
);
CREATE INDEX payout_lines_contributor ON payout_lines (contributor_id, id);
