-- 000017_session_based_authentication
-- Pure session-based authentication: auth.sessions loses csrf_token and gains fingerprint
-- columns maintained by a trigger; session indexes are rebuilt and extended; the auth audit log
-- gains session_fingerprint and security_flags; auth.validate_session_security() and
-- auth.cleanup_expired_sessions(); public.generate_user_agent_hash() (pgcrypto digest, 000015).
-- Applies in one transaction (the upstream file's own BEGIN/COMMIT is left out: the runner
-- supplies the transaction).
--
-- REPAIRS (our errata 3 and 5, see /work/shared/domainflow/README.md):
--  * Upstream drops idx_sessions_user_id / _expires_at / _active without a schema, so with
--    search_path = public the auth.* indexes from 000002 are not found, and re-creating them fails
--    ("already exists"). Here the drops name auth.; the indexes are re-created identically.
--  * Upstream's idx_sessions_cleanup predicate "is_active = false OR expires_at < NOW()" is
--    rejected (functions in an index predicate must be IMMUTABLE). Here the predicate is
--    is_active = false: the index covers the inactive sessions, and the cleanup's expiry test
--    (expires_at < now()) is served by the index key (is_active, expires_at) and by
--    idx_sessions_expires_at.
--  * auth.validate_session_security() did not work as its comment says: it recomputed the
--    fingerprint without the "|screen_resolution" part the trigger includes (so every session
--    with ip and user agent got fingerprint_mismatch), raised "query returned more than one row"
--    when two or more flags were set, and failed on the valid path because the aggregated names
--    are varchar[] while the result columns are text[] (it never returned is_valid = true). Here
--    the fingerprint is recomputed exactly like auth.update_session_fingerprint() (using the
--    session's stored screen_resolution), all flags are merged into one security_flags object
--    in one result row, the name arrays are text[] (roles/permissions without NULL entries), and a
--    clean session returns is_valid = true with its permissions and roles. As upstream, a found
--    session's last_activity_at is set to now() after the checks.

ALTER TABLE auth.sessions DROP COLUMN IF EXISTS csrf_token;

ALTER TABLE auth.sessions ADD COLUMN IF NOT EXISTS session_fingerprint varchar(255);
ALTER TABLE auth.sessions ADD COLUMN IF NOT EXISTS browser_fingerprint text;
ALTER TABLE auth.sessions ADD COLUMN IF NOT EXISTS screen_resolution varchar(20);
ALTER TABLE auth.sessions ADD COLUMN IF NOT EXISTS user_agent_hash varchar(64);

-- Lower-case hex SHA-256 of a user agent, for cheap equality checks.
CREATE FUNCTION generate_user_agent_hash(user_agent_text text) RETURNS varchar(64)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN encode(digest(user_agent_text, 'sha256'), 'hex');
END;
$$;

UPDATE auth.sessions
SET user_agent_hash = generate_user_agent_hash(user_agent)
WHERE user_agent IS NOT NULL AND user_agent_hash IS NULL;

DROP INDEX IF EXISTS auth.idx_sessions_user_id;
DROP INDEX IF EXISTS auth.idx_sessions_expires_at;
DROP INDEX IF EXISTS auth.idx_sessions_active;

CREATE INDEX idx_sessions_user_id ON auth.sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON auth.sessions (expires_at);
CREATE INDEX idx_sessions_active ON auth.sessions (is_active, expires_at);
CREATE INDEX idx_sessions_last_activity ON auth.sessions (last_activity_at);
CREATE INDEX idx_sessions_fingerprint ON auth.sessions (session_fingerprint) WHERE session_fingerprint IS NOT NULL;
CREATE INDEX idx_sessions_user_agent_hash ON auth.sessions (user_agent_hash) WHERE user_agent_hash IS NOT NULL;
CREATE INDEX idx_sessions_ip_address ON auth.sessions (ip_address) WHERE ip_address IS NOT NULL;
CREATE INDEX idx_sessions_validation ON auth.sessions (id, is_active, expires_at, user_id);
-- repaired predicate (see header)
CREATE INDEX idx_sessions_cleanup ON auth.sessions (is_active, expires_at) WHERE is_active = false;

-- Overwrites whatever the application wrote into the three derived columns.
CREATE FUNCTION auth.update_session_fingerprint() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ip_address IS NOT NULL AND NEW.user_agent IS NOT NULL THEN
        NEW.session_fingerprint := encode(digest(
            COALESCE(host(NEW.ip_address), '') || '|' || COALESCE(NEW.user_agent, '') || '|'
                || COALESCE(NEW.screen_resolution, ''),
            'sha256'), 'hex');
    END IF;
    IF NEW.user_agent IS NOT NULL THEN
        NEW.user_agent_hash := generate_user_agent_hash(NEW.user_agent);
        NEW.browser_fingerprint := encode(digest(
            COALESCE(NEW.user_agent, '') || '|' || COALESCE(NEW.screen_resolution, ''),
            'sha256'), 'hex');
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS trigger_session_fingerprint ON auth.sessions;
CREATE TRIGGER trigger_session_fingerprint BEFORE INSERT OR UPDATE ON auth.sessions
    FOR EACH ROW EXECUTE FUNCTION auth.update_session_fingerprint();

ALTER TABLE auth.auth_audit_log
    ADD COLUMN IF NOT EXISTS session_fingerprint varchar(255),
    ADD COLUMN IF NOT EXISTS security_flags jsonb DEFAULT '{}';

CREATE INDEX IF NOT EXISTS idx_auth_audit_session_fingerprint ON auth.auth_audit_log (session_fingerprint)
    WHERE session_fingerprint IS NOT NULL;

CREATE FUNCTION auth.validate_session_security(
    p_session_id varchar(128),
    p_client_ip inet,
    p_user_agent text,
    p_require_ip_match boolean DEFAULT false,
    p_require_ua_match boolean DEFAULT false
) RETURNS TABLE (is_valid boolean, user_id uuid, security_flags jsonb, permissions text[], roles text[])
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    current_fingerprint varchar(255);
    flags jsonb := '{}';
BEGIN
    SELECT ss.user_id, ss.ip_address, ss.user_agent_hash, ss.session_fingerprint,
           ss.screen_resolution, ss.last_activity_at,
           COALESCE(array_agg(DISTINCT p.name::text) FILTER (WHERE p.name IS NOT NULL), '{}') AS perms,
           COALESCE(array_agg(DISTINCT r.name::text) FILTER (WHERE r.name IS NOT NULL), '{}') AS role_names
    INTO s
    FROM auth.sessions ss
    JOIN auth.users u ON u.id = ss.user_id
    LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
    LEFT JOIN auth.roles r ON r.id = ur.role_id
    LEFT JOIN auth.role_permissions rp ON rp.role_id = r.id
    LEFT JOIN auth.permissions p ON p.id = rp.permission_id
    WHERE ss.id = p_session_id
      AND ss.is_active = true
      AND ss.expires_at > now()
      AND u.is_active = true
      AND u.is_locked = false
    GROUP BY ss.id;

    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::uuid, '{"error": "session_not_found"}'::jsonb, NULL::text[], NULL::text[];
        RETURN;
    END IF;

    -- exactly the trigger's formula (auth.update_session_fingerprint)
    IF p_client_ip IS NOT NULL AND p_user_agent IS NOT NULL THEN
        current_fingerprint := encode(digest(
            COALESCE(host(p_client_ip), '') || '|' || COALESCE(p_user_agent, '') || '|'
                || COALESCE(s.screen_resolution, ''),
            'sha256'), 'hex');
    END IF;

    IF p_require_ip_match AND s.ip_address IS DISTINCT FROM p_client_ip THEN
        flags := flags || '{"ip_mismatch": true}';
    END IF;
    IF p_require_ua_match AND s.user_agent_hash IS DISTINCT FROM generate_user_agent_hash(p_user_agent) THEN
        flags := flags || '{"user_agent_mismatch": true}';
    END IF;
    IF s.session_fingerprint IS NOT NULL AND current_fingerprint IS NOT NULL
       AND s.session_fingerprint <> current_fingerprint THEN
        flags := flags || '{"fingerprint_mismatch": true}';
    END IF;
    IF s.last_activity_at < now() - interval '30 minutes' THEN
        flags := flags || '{"idle_timeout": true}';
    END IF;

    IF flags = '{}'::jsonb THEN
        RETURN QUERY SELECT true, s.user_id, flags, s.perms::text[], s.role_names::text[];
    ELSE
        RETURN QUERY SELECT false, s.user_id, flags, NULL::text[], NULL::text[];
    END IF;

    UPDATE auth.sessions SET last_activity_at = now() WHERE id = p_session_id;
END;
$$;

CREATE FUNCTION auth.cleanup_expired_sessions() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    deleted_count integer;
BEGIN
    WITH deleted AS (
        DELETE FROM auth.sessions
        WHERE expires_at < now()
           OR (is_active = false AND last_activity_at < now() - interval '7 days')
        RETURNING id
    )
    SELECT count(*) INTO deleted_count FROM deleted;

    INSERT INTO auth.auth_audit_log (event_type, event_status, details)
    VALUES ('session_cleanup', 'success',
            jsonb_build_object('deleted_sessions', deleted_count, 'cleanup_time', now()));
    RETURN deleted_count;
END;
$$;

COMMENT ON COLUMN auth.sessions.session_fingerprint IS 'SHA-256 of client IP, user agent and screen resolution';
COMMENT ON COLUMN auth.sessions.browser_fingerprint IS 'SHA-256 of user agent and screen resolution';
COMMENT ON COLUMN auth.sessions.user_agent_hash IS 'SHA-256 of the user agent, for fast comparison';
COMMENT ON COLUMN auth.sessions.screen_resolution IS 'Client screen resolution, part of the fingerprints';

COMMENT ON FUNCTION auth.validate_session_security(varchar, inet, text, boolean, boolean) IS
    'Validates a session, optionally requiring the client IP and user agent to match; returns the user''s permissions and roles when valid';
COMMENT ON FUNCTION auth.cleanup_expired_sessions() IS 'Deletes expired sessions and sessions inactive for 7 days; returns the number deleted';
COMMENT ON FUNCTION generate_user_agent_hash(text) IS 'SHA-256 (hex) of a user agent string';
