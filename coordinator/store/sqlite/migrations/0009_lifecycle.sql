-- Job lifecycle: cancelling, retiring and webhooks. Times are Unix
-- milliseconds (UTC).

-- A retired job keeps its row, counts and ledger; its inputs and outputs go.
ALTER TABLE jobs ADD COLUMN retired_at INTEGER;
-- Cancelled jobs whose escrow is not yet returned: finished_at is set once
-- nothing more can be paid.
CREATE INDEX jobs_cancelled_unsettled ON jobs (id) WHERE state = 'cancelled' AND finished_at IS NULL;
-- Hosts are told at every contact which of their tasks were cancelled.
CREATE INDEX tasks_host_in_progress ON tasks (host_id) WHERE state = 'in_progress';

CREATE TABLE job_webhooks (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
    url    TEXT    NOT NULL,
    secret TEXT    NOT NULL
);

-- One row per event per job, retried from next_attempt_at while pending.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs (id),
    event           TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (job_id, event)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
