-- Dashboard data: what projects say of their research, and the indexes
-- that keep a contributor's pages to their own rows. Times are Unix
-- milliseconds (UTC).
ALTER TABLE projects ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- A contributor's earnings per day read the entries of their available
-- account in transaction order from the first transaction of the window
-- (found through ledger_transactions_created), not the account's history.
CREATE INDEX ledger_entries_account_transaction ON ledger_entries (account, transaction_id);
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at);

-- Ranking by total credit counts the contributors above one.
CREATE INDEX contributors_total_credit ON contributors (total_credit);

-- A signed-in person's projects, found by email across projects.
CREATE INDEX project_members_active_email ON project_members (lower(email))
    WHERE removed_at IS NULL AND email <> '';

-- A host's tasks newest first need no index here: tasks_host (host_id)
-- holds the rowid, which is the task id, so it is already (host_id, id).
