-- 000012_add_encrypted_fields
-- Field-level encryption groundwork: proxies.password_encrypted, a placeholder function for the
-- application-side password migration, encrypted API keys and configuration values, and an
-- audit log of encryption operations. These tables use gen_random_uuid() (not uuid-ossp), as
-- legacy has them.
--
-- PostgreSQL 12 compatibility: gen_random_uuid() is built in from PostgreSQL 13; on 12 it comes
-- from pgcrypto (which 000015 installs later), so on 12 only this file installs pgcrypto first.
-- On 13+ the extension is left to 000015, as in legacy.

DO $$
BEGIN
    IF current_setting('server_version_num')::integer < 130000 THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
    END IF;
END
$$;

ALTER TABLE proxies ADD COLUMN IF NOT EXISTS password_encrypted bytea;

CREATE FUNCTION migrate_proxy_passwords_to_encrypted() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Encryption keys live in the application, so the application re-writes the passwords.
    RAISE NOTICE 'Proxy password migration must be performed by the application layer';
END;
$$;

CREATE TABLE encrypted_api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       text NOT NULL,
    key_name      text NOT NULL,
    encrypted_key bytea NOT NULL,
    key_hint      text,
    permissions   jsonb DEFAULT '{}',
    expires_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz DEFAULT now(),
    updated_at    timestamptz DEFAULT now(),
    CONSTRAINT unique_user_key_name UNIQUE (user_id, key_name)
);
CREATE INDEX idx_encrypted_api_keys_user_id ON encrypted_api_keys (user_id);
CREATE INDEX idx_encrypted_api_keys_expires_at ON encrypted_api_keys (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE encrypted_configs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    config_key      text NOT NULL UNIQUE,
    encrypted_value bytea NOT NULL,
    config_type     text NOT NULL
                    CHECK (config_type IN ('api_credential', 'webhook_secret', 'integration_token', 'other')),
    description     text,
    created_at      timestamptz DEFAULT now(),
    updated_at      timestamptz DEFAULT now(),
    created_by      text,
    updated_by      text
);

CREATE TABLE encryption_audit_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "timestamp"   timestamptz DEFAULT now(),
    user_id       text,
    action        text NOT NULL CHECK (action IN ('encrypt', 'decrypt', 'rotate_key', 'access_denied')),
    resource_type text NOT NULL,
    resource_id   text,
    success       boolean NOT NULL,
    error_message text,
    ip_address    inet,
    user_agent    text
);
CREATE INDEX idx_encryption_audit_log_timestamp ON encryption_audit_log ("timestamp" DESC);
CREATE INDEX idx_encryption_audit_log_user_id ON encryption_audit_log (user_id, "timestamp" DESC);
CREATE INDEX idx_encryption_audit_log_resource ON encryption_audit_log (resource_type, resource_id, "timestamp" DESC);

CREATE FUNCTION update_encrypted_configs_timestamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_encrypted_configs_timestamp_trigger BEFORE UPDATE ON encrypted_configs
    FOR EACH ROW EXECUTE FUNCTION update_encrypted_configs_timestamp();

COMMENT ON TABLE encrypted_api_keys IS 'API keys stored encrypted at field level';
COMMENT ON TABLE encrypted_configs IS 'Sensitive configuration values stored encrypted';
COMMENT ON TABLE encryption_audit_log IS 'Audit trail of encryption and decryption operations';
COMMENT ON COLUMN proxies.password_encrypted IS 'Encrypted proxy password; replaces the plaintext password_hash';
