-- Valid tasks waiting to be paid. Reports add to it; the payer takes rows
-- off in large batches and posts their rewards as one ledger batch, so
-- reports never queue on the job's escrow balance.
CREATE TABLE credit_queue (
    task_id        BIGINT PRIMARY KEY REFERENCES tasks (id),
    job_id         BIGINT NOT NULL REFERENCES jobs (id),
    contributor_id BIGINT NOT NULL REFERENCES contributors (id),
    amount_micros  BIGINT NOT NULL
);
CREATE INDEX credit_queue_job ON credit_queue (job_id);
