-- Credit (BOINC's Cobblestone; see payouts/credit.go) and teams. Credit
-- measures work, not money: it never enters the ledger.
--
-- A host's benchmark, in operations per second; NULL if it reported none.
ALTER TABLE hosts ADD COLUMN ops_per_second DOUBLE PRECISION;
-- Credit granted to a valid task; NULL until granted.
ALTER TABLE tasks ADD COLUMN credit DOUBLE PRECISION;
-- The credit every valid task of a done unit gets, fixed when it became
-- done so that a late valid task gets the same; NULL until then.
ALTER TABLE units ADD COLUMN granted_credit DOUBLE PRECISION;

-- Totals and recent average credit (RAC) as of rac_at (NULL before the
-- first grant). A team's are summed from its members at read: no team row
-- is written on the hot path.
ALTER TABLE hosts ADD COLUMN total_credit DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN rac DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN rac_at TIMESTAMPTZ;
ALTER TABLE contributors ADD COLUMN total_credit DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE contributors ADD COLUMN rac DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE contributors ADD COLUMN rac_at TIMESTAMPTZ;

CREATE TABLE teams (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL,
    name_key    TEXT        NOT NULL UNIQUE, -- the name case-folded: names are unique whatever their case
    description TEXT        NOT NULL DEFAULT '',
    created_by  BIGINT      NOT NULL REFERENCES contributors (id),
    created_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE contributors ADD COLUMN team_id BIGINT REFERENCES teams (id);
CREATE INDEX contributors_team ON contributors (team_id) WHERE team_id IS NOT NULL;
