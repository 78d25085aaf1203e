-- 000010_add_mfa_support (down)
-- The `domainflow` role is kept: roles belong to the whole cluster, other databases may hold
-- grants to it (DROP ROLE would then fail), and the up only creates it when it is missing. Its
-- grants in this database disappear with the tables.

DROP TABLE mfa_verification_attempts;
DROP TABLE mfa_devices;
DROP TABLE mfa_policies;
DROP TABLE mfa_backup_codes;
DROP FUNCTION update_mfa_updated_at();
DROP INDEX auth.idx_users_mfa_enabled;
ALTER TABLE auth.users
    DROP COLUMN mfa_enabled,
    DROP COLUMN mfa_secret_encrypted,
    DROP COLUMN mfa_recovery_codes_encrypted,
    DROP COLUMN mfa_enforced_at,
    DROP COLUMN mfa_setup_completed_at,
    DROP COLUMN mfa_last_used_at;
