-- 000013_add_jsonb_validation
-- Validation at write time: persona config_details by persona type, campaign metadata must be a
-- JSON object, campaign status transitions follow the lifecycle, and three CHECKs on campaign
-- counters and progress.
--
-- REPAIR (our erratum 2, see /work/shared/domainflow/README.md). Upstream installs this file
-- cleanly, but its triggers make every persona write and most campaign updates fail:
--  * validate_persona_config() PERFORMed validate_dns_persona_config() /
--    validate_http_persona_config(), which were declared RETURNS trigger; a trigger function
--    cannot be called directly ("trigger functions can only be called as triggers"). Here the
--    per-type checks are plain functions taking the config (jsonb) and returning void; they raise
--    on an invalid config. Same checks, same messages.
--  * validate_campaign_status_transition() rejected an update that keeps the status (e.g. a
--    progress update of a running campaign: "Invalid status transition from running to
--    running"). Here an unchanged status always passes; real transitions are checked as before
--    (statuses outside the lifecycle, e.g. 'pausing', are still not checked).
--  * The per-row trigger that modified the campaign_statistics materialized view comes from
--    000011 and is not installed there.
--
-- 000008 made validate_persona_config() and its trigger; this file replaces the function (its
-- comment stays) and re-creates the trigger (without a comment).

CREATE FUNCTION validate_dns_persona_config(config jsonb) RETURNS void
LANGUAGE plpgsql AS $$
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

CREATE FUNCTION validate_http_persona_config(config jsonb) RETURNS void
LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION validate_persona_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.persona_type = 'dns' THEN
        PERFORM validate_dns_persona_config(NEW.config_details);
    ELSIF NEW.persona_type = 'http' THEN
        PERFORM validate_http_persona_config(NEW.config_details);
    ELSE
        RAISE EXCEPTION 'Invalid persona type: %', NEW.persona_type;
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS validate_persona_config_trigger ON personas;
CREATE TRIGGER validate_persona_config_trigger BEFORE INSERT OR UPDATE ON personas
    FOR EACH ROW EXECUTE FUNCTION validate_persona_config();

CREATE FUNCTION validate_campaign_metadata() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.metadata IS NOT NULL AND jsonb_typeof(NEW.metadata) <> 'object' THEN
        RAISE EXCEPTION 'Campaign metadata must be a JSON object';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS validate_campaign_metadata_trigger ON campaigns;
CREATE TRIGGER validate_campaign_metadata_trigger BEFORE INSERT OR UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION validate_campaign_metadata();

CREATE FUNCTION validate_campaign_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    -- the repair: an update that keeps the status is not a transition
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'pending' AND NEW.status NOT IN ('queued', 'cancelled') THEN
        RAISE EXCEPTION 'Invalid status transition from pending to %', NEW.status;
    ELSIF OLD.status = 'queued' AND NEW.status NOT IN ('running', 'paused', 'cancelled') THEN
        RAISE EXCEPTION 'Invalid status transition from queued to %', NEW.status;
    ELSIF OLD.status = 'running' AND NEW.status NOT IN ('paused', 'completed', 'failed') THEN
        RAISE EXCEPTION 'Invalid status transition from running to %', NEW.status;
    ELSIF OLD.status = 'paused' AND NEW.status NOT IN ('running', 'cancelled') THEN
        RAISE EXCEPTION 'Invalid status transition from paused to %', NEW.status;
    ELSIF OLD.status = 'completed' AND NEW.status NOT IN ('archived') THEN
        RAISE EXCEPTION 'Invalid status transition from completed to %', NEW.status;
    ELSIF OLD.status = 'failed' AND NEW.status NOT IN ('queued', 'archived') THEN
        RAISE EXCEPTION 'Invalid status transition from failed to %', NEW.status;
    ELSIF OLD.status IN ('archived', 'cancelled') THEN
        RAISE EXCEPTION 'Cannot transition from terminal status %', OLD.status;
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS validate_campaign_status_transition_trigger ON campaigns;
CREATE TRIGGER validate_campaign_status_transition_trigger BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION validate_campaign_status_transition();

ALTER TABLE campaigns ADD CONSTRAINT check_progress_percentage_range
    CHECK (progress_percentage IS NULL OR (progress_percentage >= 0 AND progress_percentage <= 100));

ALTER TABLE campaigns ADD CONSTRAINT check_items_counts_valid
    CHECK ((total_items IS NULL OR total_items >= 0)
       AND (processed_items IS NULL OR processed_items >= 0)
       AND (successful_items IS NULL OR successful_items >= 0)
       AND (failed_items IS NULL OR failed_items >= 0));

ALTER TABLE campaigns ADD CONSTRAINT check_processed_items_not_exceed_total
    CHECK (total_items IS NULL OR processed_items IS NULL OR processed_items <= total_items);
