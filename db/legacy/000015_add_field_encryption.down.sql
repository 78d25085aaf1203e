-- 000015_add_field_encryption (down)
-- Keeps pgcrypto (other objects may use it; re-applying finds it) and proxies.password_encrypted
-- (000012's). Passwords the up encrypted stay encrypted: password_hash was never changed.

DROP INDEX idx_personas_encrypted;
DROP INDEX idx_proxies_encrypted;
DROP POLICY encryption_audit_policy ON encryption_key_rotations;
DROP POLICY proxy_access_policy ON proxies;
ALTER TABLE proxies DISABLE ROW LEVEL SECURITY;
DROP FUNCTION rotate_encryption_keys(text, text, integer);
ALTER TABLE personas DROP COLUMN encryption_key_version;
ALTER TABLE proxies DROP COLUMN encryption_key_version;
DROP TABLE encryption_key_rotations;
DROP VIEW proxies_decrypted;
DROP FUNCTION decrypt_jsonb(bytea, text);
DROP FUNCTION encrypt_jsonb(jsonb, text);
ALTER TABLE personas DROP COLUMN config_details_encrypted;
