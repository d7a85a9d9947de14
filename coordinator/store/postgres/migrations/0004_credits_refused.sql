-- Credits the ledger refused (a reward key already used for other entries,
-- an escrow short of the reward), set aside with the reason so that the
-- credits queued behind them are still paid, and retried from retry_at. A
-- credit is queued or refused, never both, and its job stays open until it
-- is paid.
CREATE TABLE credits_refused (
    task_id        BIGINT      PRIMARY KEY,
    job_id         BIGINT      NOT NULL,
    contributor_id BIGINT      NOT NULL,
    amount_micros  BIGINT      NOT NULL,
    reason         TEXT        NOT NULL,
    attempts       INTEGER     NOT NULL,
    refused_at     TIMESTAMPTZ NOT NULL,
    retry_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX credits_refused_job ON credits_refused (job_id);
CREATE INDEX credits_refused_retry ON credits_refused (retry_at);
