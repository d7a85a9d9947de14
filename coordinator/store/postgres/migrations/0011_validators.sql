-- Validators: how the outputs of a unit's replicas are compared, set per
-- app version at upload and copied to each job at submit, so a job keeps
-- the rule it was submitted under. 'bitwise' compares output hashes;
-- 'numeric' reads outputs as JSON and compares numbers within abs_tol or
-- rel_tol (see workunits.Validator).
ALTER TABLE app_versions ADD COLUMN validator_kind TEXT NOT NULL DEFAULT 'bitwise';
ALTER TABLE app_versions ADD COLUMN abs_tol DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE app_versions ADD COLUMN rel_tol DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN validator_kind TEXT NOT NULL DEFAULT 'bitwise';
ALTER TABLE jobs ADD COLUMN abs_tol DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN rel_tol DOUBLE PRECISION NOT NULL DEFAULT 0;
