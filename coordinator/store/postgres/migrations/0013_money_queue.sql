-- The money queue: every step of a task's reward waits here for the payer,
-- which records them in seq order (a task's reserve before its post or
-- void). kind is reserve (success reported: escrow → pending), post (valid:
-- pending → available, less fee_micros, fixed when queued) or void (invalid
-- or unchecked: pending → escrow) or clawback (found cheating after its post:
-- available → project budget). A task has at most one row of each kind.
-- No foreign keys, as for the credit queue it replaces: rows live for a
-- second. seq is never reused (an identity), so it keeps its order while
-- a row waits in money_refused.
CREATE TABLE money_queue (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('reserve', 'post', 'void', 'clawback')),
    task_id        BIGINT  NOT NULL,
    job_id         BIGINT  NOT NULL,
    contributor_id BIGINT  NOT NULL,
    amount_micros  BIGINT  NOT NULL,
    fee_micros     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (task_id, kind)
);
CREATE INDEX money_queue_job ON money_queue (job_id);

-- Rows the ledger refused, set aside with the reason and retried from
-- retry_at; they keep their seq. A row is queued or refused, never both,
-- and its job stays open until it is recorded.
CREATE TABLE money_refused (
    task_id        BIGINT  NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('reserve', 'post', 'void', 'clawback')),
    seq            BIGINT  NOT NULL UNIQUE,
    job_id         BIGINT  NOT NULL,
    contributor_id BIGINT  NOT NULL,
    amount_micros  BIGINT  NOT NULL,
    fee_micros     BIGINT  NOT NULL DEFAULT 0,
    reason         TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    refused_at     TIMESTAMPTZ NOT NULL,
    retry_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (task_id, kind)
);
CREATE INDEX money_refused_job ON money_refused (job_id);
CREATE INDEX money_refused_retry ON money_refused (retry_at);

-- A queued or refused credit (a valid task's reward, paid escrow →
-- available in one step) becomes a reserve and a post without fee, unless
-- it was paid already under the old key. A refused one stays refused, both
-- rows with its reason and retry time: they are queued first for their seqs.
INSERT INTO money_queue (kind, task_id, job_id, contributor_id, amount_micros)
SELECT k.kind, c.task_id, c.job_id, c.contributor_id, c.amount_micros
FROM (SELECT task_id, job_id, contributor_id, amount_micros FROM credit_queue
      UNION ALL SELECT task_id, job_id, contributor_id, amount_micros FROM credits_refused) c
CROSS JOIN (SELECT 'reserve' AS kind, 1 AS o UNION ALL SELECT 'post', 2) k
WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions lt WHERE lt.key = 'reward:task:' || c.task_id)
ORDER BY c.task_id, k.o;
INSERT INTO money_refused (task_id, kind, seq, job_id, contributor_id, amount_micros, reason, attempts, refused_at, retry_at)
SELECT q.task_id, q.kind, q.seq, q.job_id, q.contributor_id, q.amount_micros, r.reason, r.attempts, r.refused_at, r.retry_at
FROM money_queue q JOIN credits_refused r ON r.task_id = q.task_id;
DELETE FROM money_queue WHERE task_id IN (SELECT task_id FROM credits_refused);

-- A success reported before reservations existed, still waiting to be
-- judged in an open unit of a paying job, is reserved now: its post or void
-- will need it.
INSERT INTO money_queue (kind, task_id, job_id, contributor_id, amount_micros)
SELECT 'reserve', t.id, t.job_id, h.contributor_id, j.reward_micros
FROM tasks t
JOIN units u ON u.id = t.unit_id
JOIN jobs j ON j.id = t.job_id
JOIN hosts h ON h.id = t.host_id
WHERE t.outcome = 'success' AND t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open'
  AND j.reward_micros > 0 AND j.state = 'active'
ORDER BY t.id;

DROP TABLE credit_queue;
DROP TABLE credits_refused;
