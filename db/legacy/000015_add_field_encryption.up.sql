-- 000015_add_field_encryption
-- pgcrypto-based field encryption: encrypt existing proxy passwords when a key is configured,
-- personas.config_details_encrypted, encrypt_jsonb/decrypt_jsonb, the proxies_decrypted view, a
-- key-rotation log with rotate_encryption_keys(), key-version columns, row-level security on
-- proxies and encryption_key_rotations (enabled, not forced: owners and superusers bypass it),
-- and partial indexes on the encrypted rows.
--
-- REPAIR (our erratum 4, see /work/shared/domainflow/README.md): upstream's password UPDATE reads
-- current_setting('app.encryption_key') without the missing-ok flag, so on any database that has
-- a proxy with a password_hash and no password_encrypted the file fails with "unrecognized
-- configuration parameter". Here the setting is read missing-ok and the UPDATE encrypts only when
-- a non-empty key is set; otherwise it changes nothing, and the application (or
-- migrate_proxy_passwords_to_encrypted's procedure) encrypts later.
-- proxies.password_encrypted already exists (000012); the ADD COLUMN IF NOT EXISTS is a no-op.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

ALTER TABLE proxies ADD COLUMN IF NOT EXISTS password_encrypted bytea;

UPDATE proxies
SET password_encrypted = pgp_sym_encrypt(COALESCE(password_hash, ''),
                                         current_setting('app.encryption_key', true))
WHERE password_hash IS NOT NULL
  AND password_encrypted IS NULL
  AND NULLIF(current_setting('app.encryption_key', true), '') IS NOT NULL;

ALTER TABLE personas ADD COLUMN IF NOT EXISTS config_details_encrypted bytea;

CREATE FUNCTION encrypt_jsonb(data jsonb, key text) RETURNS bytea
LANGUAGE plpgsql AS $$
BEGIN
    RETURN pgp_sym_encrypt(data::text, key);
END;
$$;

CREATE FUNCTION decrypt_jsonb(data bytea, key text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN pgp_sym_decrypt(data, key)::jsonb;
END;
$$;

-- Reading `password` requires app.encryption_key to be set in the session (not missing-ok: a
-- missing key is an error here, not an empty password).
CREATE VIEW proxies_decrypted AS
SELECT id,
       name,
       description,
       address,
       protocol,
       username,
       pgp_sym_decrypt(password_encrypted, current_setting('app.encryption_key')) AS password,
       host,
       port,
       is_enabled,
       is_healthy,
       last_status,
       last_checked_at,
       latency_ms,
       city,
       country_code,
       provider,
       created_at,
       updated_at
FROM proxies
WHERE password_encrypted IS NOT NULL;

CREATE TABLE encryption_key_rotations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rotated_at      timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
    rotated_by      text NOT NULL,
    key_version     integer NOT NULL,
    tables_affected text[] NOT NULL,
    records_updated integer NOT NULL,
    status          text NOT NULL CHECK (status IN ('started', 'completed', 'failed')),
    error_message   text
);

ALTER TABLE proxies ADD COLUMN IF NOT EXISTS encryption_key_version integer DEFAULT 1;
ALTER TABLE personas ADD COLUMN IF NOT EXISTS encryption_key_version integer DEFAULT 1;

-- Re-encrypts proxy passwords from old_key to new_key (personas are listed but not touched, as in
-- legacy). On error the exception handler marks the row failed and re-raises, so the whole call
-- rolls back, that row included.
CREATE FUNCTION rotate_encryption_keys(old_key text, new_key text, key_version integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    rotation_id uuid;
    updated_count integer := 0;
BEGIN
    INSERT INTO encryption_key_rotations (rotated_by, key_version, tables_affected, records_updated, status)
    VALUES (current_user, rotate_encryption_keys.key_version, ARRAY['proxies', 'personas'], 0, 'started')
    RETURNING id INTO rotation_id;

    UPDATE proxies
    SET password_encrypted = pgp_sym_encrypt(pgp_sym_decrypt(password_encrypted, old_key), new_key),
        encryption_key_version = rotate_encryption_keys.key_version
    WHERE password_encrypted IS NOT NULL;
    GET DIAGNOSTICS updated_count = ROW_COUNT;

    UPDATE encryption_key_rotations
    SET records_updated = updated_count, status = 'completed'
    WHERE id = rotation_id;
EXCEPTION WHEN OTHERS THEN
    UPDATE encryption_key_rotations
    SET status = 'failed', error_message = SQLERRM
    WHERE id = rotation_id;
    RAISE;
END;
$$;

ALTER TABLE proxies ENABLE ROW LEVEL SECURITY;
ALTER TABLE encryption_key_rotations ENABLE ROW LEVEL SECURITY;

-- Any session that identifies its user (app.current_user_id) may use proxies.
CREATE POLICY proxy_access_policy ON proxies
    FOR ALL
    USING (current_setting('app.current_user_id', true) IS NOT NULL);

-- Only admins may read the rotation history.
CREATE POLICY encryption_audit_policy ON encryption_key_rotations
    FOR SELECT
    USING (current_setting('app.current_user_role', true) = 'admin');

CREATE INDEX IF NOT EXISTS idx_proxies_encrypted ON proxies (id) WHERE password_encrypted IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_personas_encrypted ON personas (id) WHERE config_details_encrypted IS NOT NULL;
