-- Payout settings: how and where each contributor is paid, and the least
-- they want paid in one go. A payout run pays only contributors with a
-- method, and copies the method and destination onto each line, so a run's
-- file stays the same whatever is edited later. Lines of runs made before
-- this migration keep empty ones.
CREATE TABLE contributor_payout_settings (
    contributor_id   BIGINT      PRIMARY KEY REFERENCES contributors (id),
    threshold_micros BIGINT      CHECK (threshold_micros > 0), -- NULL: the run's threshold
    method           TEXT        NOT NULL DEFAULT '',          -- '': none yet, not paid
    destination      TEXT        NOT NULL DEFAULT '',
    updated_at       TIMESTAMPTZ NOT NULL,
    CHECK ((method = '') = (destination = ''))
);

ALTER TABLE payout_lines ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_lines ADD COLUMN destination TEXT NOT NULL DEFAULT '';
