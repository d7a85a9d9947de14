-- Signed app versions. A project's ed25519 public key (32 raw bytes, NULL
-- until the operator sets one) verifies the signature each app version
-- carries over its module's SHA-256; workers check it again before running
-- anything. Versions also record their resource estimates and when they
-- were deprecated (NULL while new jobs may use them). Versions uploaded
-- before this migration have no signature, and workers refuse them.
ALTER TABLE projects ADD COLUMN signing_public_key BLOB;

ALTER TABLE app_versions ADD COLUMN signature            BLOB    NOT NULL DEFAULT x'';
ALTER TABLE app_versions ADD COLUMN est_ops              INTEGER NOT NULL DEFAULT 1000000000000;
ALTER TABLE app_versions ADD COLUMN est_memory_mib       INTEGER NOT NULL DEFAULT 256;
ALTER TABLE app_versions ADD COLUMN est_disk_mib         INTEGER NOT NULL DEFAULT 64;
ALTER TABLE app_versions ADD COLUMN est_deadline_seconds INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE app_versions ADD COLUMN deprecated_at        INTEGER;
