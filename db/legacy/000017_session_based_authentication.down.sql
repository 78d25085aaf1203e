-- 000017_session_based_authentication (down)
-- Reverses 000017. idx_sessions_user_id / _expires_at / _active were re-created identically to
-- 000002's and stay. csrf_token comes back as varchar(64) NOT NULL like 000002 made it; rows that
-- exist get '' (the token is gone and session-based auth never reads it), and the column is now
-- the table's last one (PostgreSQL appends re-added columns).

DROP FUNCTION auth.cleanup_expired_sessions();
DROP FUNCTION auth.validate_session_security(varchar, inet, text, boolean, boolean);

DROP INDEX auth.idx_auth_audit_session_fingerprint;
ALTER TABLE auth.auth_audit_log
    DROP COLUMN security_flags,
    DROP COLUMN session_fingerprint;

DROP TRIGGER trigger_session_fingerprint ON auth.sessions;
DROP FUNCTION auth.update_session_fingerprint();

DROP INDEX auth.idx_sessions_cleanup;
DROP INDEX auth.idx_sessions_validation;
DROP INDEX auth.idx_sessions_ip_address;
DROP INDEX auth.idx_sessions_user_agent_hash;
DROP INDEX auth.idx_sessions_fingerprint;
DROP INDEX auth.idx_sessions_last_activity;

DROP FUNCTION generate_user_agent_hash(text);

ALTER TABLE auth.sessions
    DROP COLUMN user_agent_hash,
    DROP COLUMN screen_resolution,
    DROP COLUMN browser_fingerprint,
    DROP COLUMN session_fingerprint;

ALTER TABLE auth.sessions ADD COLUMN csrf_token varchar(64) NOT NULL DEFAULT '';
ALTER TABLE auth.sessions ALTER COLUMN csrf_token DROP DEFAULT;
