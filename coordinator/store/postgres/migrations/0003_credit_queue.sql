-- Valid tasks waiting to be paid. Reports add to it; the payer takes rows
-- off in large batches and posts their rewards as one ledger batch, so
-- reports never queue on the job's escrow balance. No foreign keys: rows
-- live for a second, are written only from tasks just found valid, and
-- checking three references per row was most of the cost of queueing.
CREATE TABLE credit_queue (
    task_id        BIGINT PRIMARY KEY,
    job_id         BIGINT NOT NULL,
    contributor_id BIGINT NOT NULL,
    amount_micros  BIGINT NOT NULL
);
CREATE INDEX credit_queue_job ON credit_queue (job_id);
