-- Clawbacks: a host found cheating (by an operator, or automatically when a
-- host that failed a spot check is blocked) has its results since a time
-- judged invalid and its rewards reversed. A row is requested, then done
-- once the service has carried it out; it stays as the record of what was
-- reversed.
CREATE TABLE clawbacks (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id           BIGINT  NOT NULL REFERENCES hosts (id),
    since             TIMESTAMPTZ, -- NULL: since the host's first result accepted on trust
    reason            TEXT    NOT NULL,
    requested_at      TIMESTAMPTZ NOT NULL,
    done_at           TIMESTAMPTZ,
    tasks_invalidated INTEGER NOT NULL DEFAULT 0,
    units_reopened    INTEGER NOT NULL DEFAULT 0,
    units_failed      INTEGER NOT NULL DEFAULT 0,
    amount_micros     BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX clawbacks_pending ON clawbacks (id) WHERE done_at IS NULL;
CREATE INDEX clawbacks_host ON clawbacks (host_id);
CREATE INDEX tasks_host_received ON tasks (host_id, received_at) WHERE outcome = 'success';
