/**
 * Every function of v2, as SQL text (CREATE OR REPLACE, in its final schema). Legacy functions keep
 * their exact signatures — argument names, types, defaults and result types — because the engine
 * swaps bodies in place at cutover and PostgreSQL refuses to change any of those with CREATE OR
 * REPLACE (upstream v2's refresh_campaign_statistics void → integer failed that way, v2-delta §7.10).
 * All bodies are plpgsql so nothing is resolved against tables at creation time, and they name
 * their tables with schema so the search_path of the caller does not matter.
 */

const timestamps = `
CREATE OR REPLACE FUNCTION public.trigger_set_timestamp() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.update_mfa_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.update_encrypted_configs_timestamp() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;
`;

const campaignValidation = `
CREATE OR REPLACE FUNCTION public.validate_campaign_metadata() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.metadata IS NOT NULL AND jsonb_typeof(NEW.metadata) <> 'object' THEN
        RAISE EXCEPTION 'Campaign metadata must be a JSON object';
    END IF;
    RETURN NEW;
END;
$$;

-- Legacy rejected an update that keeps the status (every progress update failed; errata 2) and
-- never allowed the Go service's running -> pausing -> paused path. Same-status updates pass;
-- pausing has its own edges; everything else is legacy's table.
CREATE OR REPLACE FUNCTION public.validate_campaign_status_transition() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    allowed text[];
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
    allowed := CASE OLD.status
        WHEN 'pending'   THEN ARRAY['queued', 'cancelled']
        WHEN 'queued'    THEN ARRAY['running', 'paused', 'cancelled']
        WHEN 'running'   THEN ARRAY['pausing', 'paused', 'completed', 'failed']
        WHEN 'pausing'   THEN ARRAY['paused', 'running', 'failed', 'cancelled']
        WHEN 'paused'    THEN ARRAY['running', 'cancelled']
        WHEN 'completed' THEN ARRAY['archived']
        WHEN 'failed'    THEN ARRAY['queued', 'archived']
        ELSE NULL
    END;
    IF OLD.status IN ('archived', 'cancelled') THEN
        RAISE EXCEPTION 'Cannot transition from terminal status %', OLD.status;
    END IF;
    IF allowed IS NOT NULL AND NOT (NEW.status = ANY (allowed)) THEN
        RAISE EXCEPTION 'Invalid status transition from % to %', OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END;
$$;

-- Kept (not attached to any table) so the cutover's CREATE OR REPLACE turns legacy's failing body
-- (it modified the materialized view from a row trigger) into a harmless one.
CREATE OR REPLACE FUNCTION public.trigger_refresh_campaign_statistics() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.trigger_log_campaign_status_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO public.audit_logs (user_id, action, entity_type, entity_id, details)
        VALUES (NEW.user_id, 'campaign_status_change', 'Campaign', NEW.id,
                jsonb_build_object('old_status', OLD.status, 'new_status', NEW.status,
                                   'progress_percentage', NEW.progress_percentage,
                                   'processed_items', NEW.processed_items));
    END IF;
    RETURN NULL;
END;
$$;
`;

const personaValidation = `
-- errata 2: the per-type checks are plain functions over the config (legacy PERFORMed trigger
-- functions, which PostgreSQL refuses, so every persona write failed)
CREATE OR REPLACE FUNCTION public.validate_dns_persona_config(config jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT (config ? 'resolvers' AND config ? 'useSystemResolvers'
            AND config ? 'queryTimeoutSeconds' AND config ? 'maxDomainsPerRequest') THEN
        RAISE EXCEPTION 'Invalid DNS persona configuration: missing required fields';
    END IF;
    IF NOT (jsonb_typeof(config -> 'resolvers') = 'array'
            AND jsonb_typeof(config -> 'useSystemResolvers') = 'boolean'
            AND jsonb_typeof(config -> 'queryTimeoutSeconds') = 'number'
            AND jsonb_typeof(config -> 'maxDomainsPerRequest') = 'number') THEN
        RAISE EXCEPTION 'Invalid DNS persona configuration: incorrect field types';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION public.validate_http_persona_config(config jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT (config ? 'userAgent' AND config ? 'headers') THEN
        RAISE EXCEPTION 'Invalid HTTP persona configuration: missing required fields';
    END IF;
    IF NOT (jsonb_typeof(config -> 'userAgent') = 'string'
            AND jsonb_typeof(config -> 'headers') = 'object') THEN
        RAISE EXCEPTION 'Invalid HTTP persona configuration: incorrect field types';
    END IF;
    IF length(config ->> 'userAgent') = 0 THEN
        RAISE EXCEPTION 'Invalid HTTP persona configuration: userAgent cannot be empty';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION public.validate_persona_config() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.persona_type = 'dns' THEN
        PERFORM public.validate_dns_persona_config(NEW.config_details);
    ELSIF NEW.persona_type = 'http' THEN
        PERFORM public.validate_http_persona_config(NEW.config_details);
    ELSE
        RAISE EXCEPTION 'Invalid persona type: %', NEW.persona_type;
    END IF;
    RETURN NEW;
END;
$$;

-- legacy 000008, never attached; kept for signature compatibility
CREATE OR REPLACE FUNCTION public.validate_persona_ids_exist() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    pid uuid;
BEGIN
    IF NEW.persona_ids IS NOT NULL THEN
        FOREACH pid IN ARRAY NEW.persona_ids LOOP
            IF NOT EXISTS (SELECT 1 FROM public.personas WHERE id = pid) THEN
                RAISE EXCEPTION 'Persona ID % does not exist', pid;
            END IF;
        END LOOP;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.validate_jsonb_structure(p_jsonb jsonb, p_required_keys text[], p_optional_keys text[] DEFAULT '{}'::text[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_jsonb IS NULL OR jsonb_typeof(p_jsonb) <> 'object' THEN
        RETURN false;
    END IF;
    IF NOT (p_jsonb ?& COALESCE(p_required_keys, '{}'::text[])) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (
        SELECT 1 FROM jsonb_object_keys(p_jsonb) AS k(key)
        WHERE NOT (k.key = ANY (COALESCE(p_required_keys, '{}'::text[]) || COALESCE(p_optional_keys, '{}'::text[])))
    );
END;
$$;
`;

const refresh = `
-- One body for every refresh: CONCURRENTLY (readers never blocked) once the view is populated;
-- a never-populated view cannot be refreshed concurrently, so its first refresh is a plain one.
CREATE OR REPLACE FUNCTION public.refresh_campaign_statistics() RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF (SELECT ispopulated FROM pg_catalog.pg_matviews WHERE schemaname = 'public' AND matviewname = 'campaign_statistics') THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY public.campaign_statistics;
    ELSE
        REFRESH MATERIALIZED VIEW public.campaign_statistics;
    END IF;
END;
$$;

-- Legacy (000011) deleted and re-inserted one row of the materialized view, which PostgreSQL
-- refuses ("cannot change materialized view"). A materialized view refreshes as a whole, so this
-- overload keeps its signature (callers keep working) and refreshes the view.
CREATE OR REPLACE FUNCTION public.refresh_campaign_statistics(campaign_id uuid) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM public.refresh_campaign_statistics();
END;
$$;

-- Upstream's version failed on system_performance_summary (no unique index, so no CONCURRENTLY)
-- and rolled everything back (v2-delta §7.6). Every view here has a unique index.
CREATE OR REPLACE FUNCTION public.refresh_all_materialized_views() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_view_started timestamptz;
    v_view text;
    v_populated boolean;
    v_result jsonb := '{}'::jsonb;
    v_details jsonb := '{}'::jsonb;
BEGIN
    FOREACH v_view IN ARRAY ARRAY['campaign_statistics', 'user_activity_summary', 'system_performance_summary'] LOOP
        v_view_started := clock_timestamp();
        SELECT ispopulated INTO v_populated FROM pg_catalog.pg_matviews
         WHERE schemaname = 'public' AND matviewname = v_view;
        IF v_populated THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY public.%I', v_view);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW public.%I', v_view);
        END IF;
        v_result := v_result || jsonb_build_object(v_view, 'success');
        v_details := v_details || jsonb_build_object(v_view, jsonb_build_object(
            'concurrently', COALESCE(v_populated, false),
            'duration_seconds', round(extract(epoch FROM clock_timestamp() - v_view_started)::numeric, 3)));
    END LOOP;
    v_result := v_result || jsonb_build_object(
        'views', v_details,
        'total_duration_seconds', round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3),
        'refreshed_at', now());
    INSERT INTO public.audit_logs (action, entity_type, details)
    VALUES ('materialized_view_refresh', 'MaterializedView', v_result);
    RETURN v_result;
END;
$$;
`;

const audit = `
-- Upstream ignored its parameter for auth.auth_audit_log (fixed 180 days). Here the parameter
-- drives both logs; security events keep at least 180 days and high-risk ones (risk_score >= 5)
-- are never deleted; audit rows of account and privilege changes are exempt. A retention below
-- one day is refused rather than emptying the logs.
CREATE OR REPLACE FUNCTION public.cleanup_old_audit_logs(retention_days integer DEFAULT 90) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_deleted integer;
    v_auth_deleted integer;
BEGIN
    IF retention_days IS NULL OR retention_days < 1 THEN
        RAISE EXCEPTION 'retention_days must be at least 1 (got %)', retention_days;
    END IF;
    DELETE FROM public.audit_logs
     WHERE "timestamp" < now() - make_interval(days => retention_days)
       AND action NOT IN ('user_created', 'user_deleted', 'role_assigned', 'permission_granted');
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    DELETE FROM auth.auth_audit_log
     WHERE created_at < LOCALTIMESTAMP - make_interval(days => GREATEST(retention_days, 180))
       AND COALESCE(risk_score, 0) < 5;
    GET DIAGNOSTICS v_auth_deleted = ROW_COUNT;
    INSERT INTO public.audit_logs (action, entity_type, details)
    VALUES ('audit_log_cleanup', 'AuditLog', jsonb_build_object(
        'retention_days', retention_days, 'deleted_audit_logs', v_deleted,
        'deleted_auth_audit_logs', v_auth_deleted, 'cleanup_time', now()));
    RETURN v_deleted;
END;
$$;
`;

const encryption = `
CREATE OR REPLACE FUNCTION public.encrypt_jsonb(data jsonb, key text) RETURNS bytea
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN public.pgp_sym_encrypt(data::text, key);
END;
$$;

CREATE OR REPLACE FUNCTION public.decrypt_jsonb(data bytea, key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN public.pgp_sym_decrypt(data, key)::jsonb;
END;
$$;

-- Legacy recorded tables {proxies, personas} but re-encrypted proxies only, leaving persona
-- configs under the old key. Both are re-encrypted here and counted.
CREATE OR REPLACE FUNCTION public.rotate_encryption_keys(old_key text, new_key text, key_version integer) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_rotation_id uuid;
    v_proxies integer := 0;
    v_personas integer := 0;
BEGIN
    INSERT INTO public.encryption_key_rotations (rotated_by, key_version, tables_affected, records_updated, status)
    VALUES (current_user, rotate_encryption_keys.key_version, ARRAY['proxies', 'personas'], 0, 'started')
    RETURNING id INTO v_rotation_id;
    BEGIN
        UPDATE public.proxies
           SET password_encrypted = public.pgp_sym_encrypt(public.pgp_sym_decrypt(password_encrypted, old_key), new_key),
               encryption_key_version = rotate_encryption_keys.key_version
         WHERE password_encrypted IS NOT NULL;
        GET DIAGNOSTICS v_proxies = ROW_COUNT;
        UPDATE public.personas
           SET config_details_encrypted = public.pgp_sym_encrypt(public.pgp_sym_decrypt(config_details_encrypted, old_key), new_key),
               encryption_key_version = rotate_encryption_keys.key_version
         WHERE config_details_encrypted IS NOT NULL;
        GET DIAGNOSTICS v_personas = ROW_COUNT;
        UPDATE public.encryption_key_rotations
           SET status = 'completed', records_updated = v_proxies + v_personas
         WHERE id = v_rotation_id;
    EXCEPTION WHEN OTHERS THEN
        UPDATE public.encryption_key_rotations SET status = 'failed', error_message = SQLERRM WHERE id = v_rotation_id;
        RAISE;
    END;
END;
$$;

CREATE OR REPLACE FUNCTION public.migrate_proxy_passwords_to_encrypted() RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE NOTICE 'Proxy password migration must be performed by the application layer with the encryption key';
END;
$$;

CREATE OR REPLACE FUNCTION public.generate_user_agent_hash(user_agent_text text) RETURNS character varying
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    RETURN encode(public.digest(user_agent_text, 'sha256'), 'hex');
END;
$$;
`;

const auth = `
CREATE OR REPLACE FUNCTION auth.update_session_fingerprint() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.ip_address IS NOT NULL AND NEW.user_agent IS NOT NULL THEN
        NEW.session_fingerprint := encode(public.digest(
            COALESCE(host(NEW.ip_address), '') || '|' || COALESCE(NEW.user_agent, '') || '|' ||
            COALESCE(NEW.screen_resolution, ''), 'sha256'), 'hex');
    END IF;
    IF NEW.user_agent IS NOT NULL THEN
        NEW.user_agent_hash := public.generate_user_agent_hash(NEW.user_agent);
        NEW.browser_fingerprint := encode(public.digest(
            COALESCE(NEW.user_agent, '') || '|' || COALESCE(NEW.screen_resolution, ''), 'sha256'), 'hex');
    END IF;
    RETURN NEW;
END;
$$;

-- errata 5 (upstream never returned is_valid = true): the fingerprint is recomputed exactly as
-- update_session_fingerprint computes it (with the screen resolution), flags are merged into one
-- object (not one row per flag), permissions and roles are text[] as declared, and only a valid
-- call extends last_activity_at (an idle session must not be revived by the check itself).
-- Expired role assignments grant nothing, as in auth.get_user_permissions.
CREATE OR REPLACE FUNCTION auth.validate_session_security(p_session_id character varying, p_client_ip inet, p_user_agent text, p_require_ip_match boolean DEFAULT false, p_require_ua_match boolean DEFAULT false)
    RETURNS TABLE(is_valid boolean, user_id uuid, security_flags jsonb, permissions text[], roles text[])
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    v_session record;
    v_expected text;
    v_flags jsonb := '{}'::jsonb;
    v_permissions text[];
    v_roles text[];
BEGIN
    SELECT s.user_id, s.ip_address, s.user_agent_hash, s.session_fingerprint, s.screen_resolution, s.last_activity_at
      INTO v_session
      FROM auth.sessions s
      JOIN auth.users u ON u.id = s.user_id
     WHERE s.id = p_session_id
       AND s.is_active = TRUE
       AND s.expires_at > NOW()
       AND u.is_active = TRUE
       AND u.is_locked = FALSE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT FALSE, NULL::uuid, '{"error": "session_not_found"}'::jsonb, NULL::text[], NULL::text[];
        RETURN;
    END IF;

    IF p_require_ip_match AND v_session.ip_address IS DISTINCT FROM p_client_ip THEN
        v_flags := v_flags || '{"ip_mismatch": true}'::jsonb;
    END IF;
    IF p_require_ua_match AND v_session.user_agent_hash IS DISTINCT FROM public.generate_user_agent_hash(p_user_agent) THEN
        v_flags := v_flags || '{"user_agent_mismatch": true}'::jsonb;
    END IF;
    IF p_client_ip IS NOT NULL AND p_user_agent IS NOT NULL AND v_session.session_fingerprint IS NOT NULL THEN
        v_expected := encode(public.digest(
            COALESCE(host(p_client_ip), '') || '|' || COALESCE(p_user_agent, '') || '|' ||
            COALESCE(v_session.screen_resolution, ''), 'sha256'), 'hex');
        IF v_session.session_fingerprint <> v_expected THEN
            v_flags := v_flags || '{"fingerprint_mismatch": true}'::jsonb;
        END IF;
    END IF;
    IF v_session.last_activity_at < NOW() - INTERVAL '30 minutes' THEN
        v_flags := v_flags || '{"idle_timeout": true}'::jsonb;
    END IF;

    IF v_flags <> '{}'::jsonb THEN
        RETURN QUERY SELECT FALSE, v_session.user_id, v_flags, NULL::text[], NULL::text[];
        RETURN;
    END IF;

    SELECT COALESCE(array_agg(DISTINCT r.name::text ORDER BY r.name::text), '{}'::text[]) INTO v_roles
      FROM auth.user_roles ur JOIN auth.roles r ON r.id = ur.role_id
     WHERE ur.user_id = v_session.user_id AND (ur.expires_at IS NULL OR ur.expires_at > NOW());
    v_permissions := auth.get_user_permissions(v_session.user_id);

    UPDATE auth.sessions SET last_activity_at = NOW() WHERE id = p_session_id;
    RETURN QUERY SELECT TRUE, v_session.user_id, '{}'::jsonb, v_permissions, v_roles;
END;
$$;

CREATE OR REPLACE FUNCTION auth.cleanup_expired_sessions() RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    deleted_count integer;
BEGIN
    WITH deleted AS (
        DELETE FROM auth.sessions
         WHERE expires_at < NOW()
            OR (is_active = FALSE AND last_activity_at < (NOW() - INTERVAL '7 days'))
        RETURNING id
    )
    SELECT count(*) INTO deleted_count FROM deleted;
    INSERT INTO auth.auth_audit_log (event_type, event_status, details)
    VALUES ('session_cleanup', 'success',
            jsonb_build_object('deleted_sessions', deleted_count, 'cleanup_time', NOW()));
    RETURN deleted_count;
END;
$$;

CREATE OR REPLACE FUNCTION auth.get_user_permissions(p_user_id uuid) RETURNS text[]
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN COALESCE((
        SELECT array_agg(DISTINCT p.name::text ORDER BY p.name::text)
          FROM auth.users u
          JOIN auth.user_roles ur ON ur.user_id = u.id
          JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
          JOIN auth.permissions p ON p.id = rp.permission_id
         WHERE u.id = p_user_id
           AND u.is_active = TRUE
           AND u.is_locked = FALSE
           AND (ur.expires_at IS NULL OR ur.expires_at > NOW())
    ), '{}'::text[]);
END;
$$;
`;

const comments = `
COMMENT ON FUNCTION public.generate_user_agent_hash(user_agent_text text) IS 'SHA-256 (hex) of a user agent string';
COMMENT ON FUNCTION public.refresh_campaign_statistics() IS 'Refreshes the campaign_statistics materialized view without blocking readers; call it from a scheduled job every few minutes';
COMMENT ON FUNCTION public.validate_persona_config() IS 'Validates the JSONB config_details of a persona according to its type (dns/http)';
COMMENT ON FUNCTION public.refresh_all_materialized_views() IS 'Refreshes campaign_statistics, user_activity_summary and system_performance_summary concurrently; returns a jsonb report';
COMMENT ON FUNCTION public.cleanup_old_audit_logs(retention_days integer) IS 'Deletes audit_logs older than retention_days (account/privilege actions exempt) and low-risk auth audit rows older than max(retention_days, 180) days';
COMMENT ON FUNCTION auth.validate_session_security(p_session_id character varying, p_client_ip inet, p_user_agent text, p_require_ip_match boolean, p_require_ua_match boolean) IS 'Validates a session, optionally requiring the client IP and user agent to match; returns the user''s permissions and roles when valid';
COMMENT ON FUNCTION auth.cleanup_expired_sessions() IS 'Deletes expired sessions and sessions inactive for 7 days; returns the number deleted';
COMMENT ON FUNCTION auth.get_user_permissions(p_user_id uuid) IS 'Distinct permission names granted to an active, unlocked user through unexpired roles';
`;

/** All functions, in dependency-free order (plpgsql bodies are resolved at call time). */
export const FUNCTIONS_SQL = [
  timestamps,
  campaignValidation,
  personaValidation,
  refresh,
  audit,
  encryption,
  auth,
  comments,
]
  .map((s) => s.trim())
  .join('\n\n');
