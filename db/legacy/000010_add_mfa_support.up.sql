-- 000010_add_mfa_support
-- Multi-factor authentication: MFA columns on auth.users (timestamptz, unlike the rest of auth),
-- hashed backup codes, MFA devices, a log of verification attempts, organisation-wide MFA
-- policies with a seeded 'default' policy, and the `domainflow` application role (NOLOGIN,
-- created only if missing) with DML rights on the four MFA tables.
--
-- REPAIR (our erratum 1, see /work/shared/domainflow/README.md): upstream declares
-- "CONSTRAINT unique_primary_per_user UNIQUE (user_id, is_primary) WHERE is_primary = true"
-- inside CREATE TABLE mfa_devices. A table constraint cannot carry a WHERE clause, so upstream
-- the whole file is a syntax error (model C loses mfa_devices, mfa_verification_attempts and
-- the 12 statements depending on them). Here the rule is the partial unique index
-- unique_primary_per_user ON mfa_devices (user_id) WHERE is_primary: at most one primary device
-- per user, any number of non-primary ones, which is what the constraint meant.
--
-- mfa_devices / mfa_verification_attempts columns (designed from DomainFlow's MFA intent: TOTP
-- now, WebAuthn/SMS/e-mail later; our history is the only source of these two tables):
--   mfa_devices: id, user_id -> auth.users (cascade), device_name, device_type
--     (totp|webauthn|sms|email), device_identifier (phone / address for sms/email),
--     secret_encrypted (TOTP secret, application-encrypted), public_key_credential (WebAuthn),
--     is_primary (default false), is_active (default true), verified_at, last_used_at,
--     created_at / updated_at (timestamptz, updated_at kept by update_mfa_updated_at()).
--   mfa_verification_attempts: id, user_id -> auth.users (cascade), device_id -> mfa_devices
--     (set null: the audit row outlives the device), attempt_type (totp|backup_code|webauthn|
--     sms|email), success, failure_reason, ip_address, user_agent, attempted_at.
-- Like mfa_backup_codes (as legacy has it), both user_id columns carry two identical foreign
-- keys, the column's own and `fk_user`, as the file declares them.

ALTER TABLE auth.users
    ADD COLUMN IF NOT EXISTS mfa_enabled boolean DEFAULT false,
    ADD COLUMN IF NOT EXISTS mfa_secret_encrypted text,
    ADD COLUMN IF NOT EXISTS mfa_recovery_codes_encrypted text,
    ADD COLUMN IF NOT EXISTS mfa_enforced_at timestamptz,
    ADD COLUMN IF NOT EXISTS mfa_setup_completed_at timestamptz,
    ADD COLUMN IF NOT EXISTS mfa_last_used_at timestamptz;

CREATE INDEX IF NOT EXISTS idx_users_mfa_enabled ON auth.users (mfa_enabled);

CREATE TABLE mfa_backup_codes (
    id              uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    user_id         uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    code_hash       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    used_at         timestamptz,
    used_ip_address inet,
    is_active       boolean DEFAULT true,
    CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
CREATE INDEX idx_mfa_backup_codes_user_id ON mfa_backup_codes (user_id);
CREATE INDEX idx_mfa_backup_codes_active ON mfa_backup_codes (user_id, is_active) WHERE is_active = true;

CREATE TABLE mfa_devices (
    id                    uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    user_id               uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    device_name           text NOT NULL,
    device_type           text NOT NULL CHECK (device_type IN ('totp', 'webauthn', 'sms', 'email')),
    device_identifier     text,
    secret_encrypted      text,
    public_key_credential text,
    is_primary            boolean DEFAULT false,
    is_active             boolean DEFAULT true,
    verified_at           timestamptz,
    last_used_at          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
-- the repaired "one primary device per user" rule (see header)
CREATE UNIQUE INDEX unique_primary_per_user ON mfa_devices (user_id) WHERE is_primary = true;
CREATE INDEX idx_mfa_devices_user_id ON mfa_devices (user_id);
CREATE INDEX idx_mfa_devices_active ON mfa_devices (user_id, is_active) WHERE is_active = true;
CREATE INDEX idx_mfa_devices_type ON mfa_devices (device_type);

CREATE TABLE mfa_verification_attempts (
    id             uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    user_id        uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    device_id      uuid REFERENCES mfa_devices (id) ON DELETE SET NULL,
    attempt_type   text NOT NULL CHECK (attempt_type IN ('totp', 'backup_code', 'webauthn', 'sms', 'email')),
    success        boolean NOT NULL,
    failure_reason text,
    ip_address     inet,
    user_agent     text,
    attempted_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
CREATE INDEX idx_mfa_verification_attempts_user_id ON mfa_verification_attempts (user_id);
CREATE INDEX idx_mfa_verification_attempts_timestamp ON mfa_verification_attempts (attempted_at);
CREATE INDEX idx_mfa_verification_attempts_success ON mfa_verification_attempts (user_id, success, attempted_at);

CREATE TABLE mfa_policies (
    id                            uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    policy_name                   text NOT NULL UNIQUE,
    description                   text,
    require_mfa_for_admins        boolean DEFAULT true,
    require_mfa_for_all_users     boolean DEFAULT false,
    allowed_mfa_types             text[] DEFAULT ARRAY['totp', 'backup_code'],
    grace_period_days             integer DEFAULT 7,
    min_backup_codes              integer DEFAULT 8,
    backup_code_regeneration_days integer DEFAULT 365,
    is_active                     boolean DEFAULT true,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now(),
    created_by                    uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    updated_by                    uuid REFERENCES auth.users (id) ON DELETE SET NULL
);

INSERT INTO mfa_policies (policy_name, description, require_mfa_for_admins, require_mfa_for_all_users,
                          allowed_mfa_types, grace_period_days, min_backup_codes, backup_code_regeneration_days)
VALUES ('default', 'Default MFA policy for DomainFlow', true, false, ARRAY['totp', 'backup_code'], 7, 8, 365)
ON CONFLICT (policy_name) DO NOTHING;

CREATE FUNCTION update_mfa_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_mfa_devices_updated_at BEFORE UPDATE ON mfa_devices
    FOR EACH ROW EXECUTE FUNCTION update_mfa_updated_at();
CREATE TRIGGER update_mfa_policies_updated_at BEFORE UPDATE ON mfa_policies
    FOR EACH ROW EXECUTE FUNCTION update_mfa_updated_at();

COMMENT ON TABLE mfa_backup_codes IS 'Hashed one-time MFA backup codes';
COMMENT ON TABLE mfa_devices IS 'Registered MFA devices (TOTP, WebAuthn, SMS, e-mail); at most one primary per user';
COMMENT ON TABLE mfa_verification_attempts IS 'Every MFA verification attempt, for audit and rate limiting';
COMMENT ON TABLE mfa_policies IS 'Organisation-wide MFA requirements';

COMMENT ON COLUMN auth.users.mfa_enabled IS 'Whether the user has MFA switched on';
COMMENT ON COLUMN auth.users.mfa_secret_encrypted IS 'Encrypted TOTP secret (older scheme; mfa_devices supersedes it)';
COMMENT ON COLUMN auth.users.mfa_recovery_codes_encrypted IS 'Encrypted recovery codes (older scheme; mfa_backup_codes supersedes it)';
COMMENT ON COLUMN auth.users.mfa_enforced_at IS 'When MFA becomes mandatory for the user (end of the grace period)';
COMMENT ON COLUMN auth.users.mfa_setup_completed_at IS 'When the user finished setting up MFA';
COMMENT ON COLUMN auth.users.mfa_last_used_at IS 'When MFA was last used to authenticate';

-- Roles are cluster-wide: create it only when no database of the cluster has yet.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'domainflow') THEN
        CREATE ROLE domainflow NOLOGIN;
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_backup_codes TO domainflow;
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_devices TO domainflow;
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_verification_attempts TO domainflow;
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_policies TO domainflow;
