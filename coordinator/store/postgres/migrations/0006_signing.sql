-- Signed app versions. A project's ed25519 public key (32 raw bytes, NULL
-- until the operator sets one) verifies the signature each app version
-- carries over its module's SHA-256; workers check it again before running
-- anything. Versions also record their resource estimates and when they
-- were deprecated (NULL while new jobs may use them). Versions uploaded
-- before this migration have no signature, and workers refuse them.
ALTER TABLE projects ADD COLUMN signing_public_key BYTEA;

ALTER TABLE app_versions
    ADD COLUMN signature            BYTEA       NOT NULL DEFAULT '\x',
    ADD COLUMN est_ops              BIGINT      NOT NULL DEFAULT 1000000000000,
    ADD COLUMN est_memory_mib       INTEGER     NOT NULL DEFAULT 256,
    ADD COLUMN est_disk_mib         INTEGER     NOT NULL DEFAULT 64,
    ADD COLUMN est_deadline_seconds INTEGER     NOT NULL DEFAULT 3600,
    ADD COLUMN deprecated_at        TIMESTAMPTZ;
