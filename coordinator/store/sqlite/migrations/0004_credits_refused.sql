-- Credits the ledger refused (a reward key already used for other entries,
-- an escrow short of the reward), set aside with the reason so that the
-- credits queued behind them are still paid, and retried from retry_at. A
-- credit is queued or refused, never both, and its job stays open until it
-- is paid. Times are Unix milliseconds (UTC).
CREATE TABLE credits_refused (
    task_id        INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL,
    contributor_id INTEGER NOT NULL,
    amount_micros  INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    refused_at     INTEGER NOT NULL,
    retry_at       INTEGER NOT NULL
);
CREATE INDEX credits_refused_job ON credits_refused (job_id);
CREATE INDEX credits_refused_retry ON credits_refused (retry_at);
