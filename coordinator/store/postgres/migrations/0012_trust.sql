-- Host trust and adaptive replication: what each host has shown per app
-- version, its daily quota and invalid streak, and whether it is blocked;
-- jobs that replicate adaptively, and tasks accepted alone on trust.
ALTER TABLE jobs ADD COLUMN adaptive_replication BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN on_trust BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE hosts ADD COLUMN daily_quota INTEGER NOT NULL DEFAULT 0; -- 0: the default
ALTER TABLE hosts ADD COLUMN leased_today INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN quota_day TIMESTAMPTZ;
ALTER TABLE hosts ADD COLUMN invalid_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN blocked_at TIMESTAMPTZ;
ALTER TABLE hosts ADD COLUMN blocked_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE host_trust (
    host_id             BIGINT      NOT NULL REFERENCES hosts (id),
    app_version_id      BIGINT      NOT NULL REFERENCES app_versions (id),
    consecutive_valid   INTEGER     NOT NULL,
    valid_total         INTEGER     NOT NULL,
    invalid_total       INTEGER     NOT NULL,
    spot_check_failures INTEGER     NOT NULL,
    last_verified_at    TIMESTAMPTZ,
    PRIMARY KEY (host_id, app_version_id)
);
