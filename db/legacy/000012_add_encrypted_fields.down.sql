-- 000012_add_encrypted_fields (down)
-- On PostgreSQL 12 the up may have installed pgcrypto; it is kept (other objects may use it).

DROP TRIGGER update_encrypted_configs_timestamp_trigger ON encrypted_configs;
DROP FUNCTION update_encrypted_configs_timestamp();
DROP TABLE encryption_audit_log;
DROP TABLE encrypted_configs;
DROP TABLE encrypted_api_keys;
DROP FUNCTION migrate_proxy_passwords_to_encrypted();
ALTER TABLE proxies DROP COLUMN password_encrypted;
