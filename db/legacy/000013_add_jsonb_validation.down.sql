-- 000013_add_jsonb_validation (down)
-- Removes what 000013 added and puts back 000008's version of validate_persona_config() and its
-- trigger (with the trigger's comment), which 000013 had replaced.

ALTER TABLE campaigns DROP CONSTRAINT check_processed_items_not_exceed_total;
ALTER TABLE campaigns DROP CONSTRAINT check_items_counts_valid;
ALTER TABLE campaigns DROP CONSTRAINT check_progress_percentage_range;

DROP TRIGGER validate_campaign_status_transition_trigger ON campaigns;
DROP FUNCTION validate_campaign_status_transition();
DROP TRIGGER validate_campaign_metadata_trigger ON campaigns;
DROP FUNCTION validate_campaign_metadata();

DROP TRIGGER validate_persona_config_trigger ON personas;

-- 000008's body, verbatim (its function comment was never removed)
CREATE OR REPLACE FUNCTION validate_persona_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.config_details IS NULL THEN
        RAISE EXCEPTION 'config_details cannot be NULL';
    END IF;
    IF NEW.persona_type = 'DNS' THEN
        IF NOT (NEW.config_details ? 'dns_servers' AND NEW.config_details ? 'record_type') THEN
            RAISE EXCEPTION 'Invalid DNS persona configuration: missing required fields (dns_servers, record_type)';
        END IF;
        IF jsonb_typeof(NEW.config_details -> 'dns_servers') <> 'array' THEN
            RAISE EXCEPTION 'Invalid DNS persona configuration: dns_servers must be an array';
        END IF;
        IF jsonb_array_length(NEW.config_details -> 'dns_servers') = 0 THEN
            RAISE EXCEPTION 'Invalid DNS persona configuration: dns_servers array cannot be empty';
        END IF;
        IF jsonb_typeof(NEW.config_details -> 'record_type') <> 'string' THEN
            RAISE EXCEPTION 'Invalid DNS persona configuration: record_type must be a string';
        END IF;
    ELSIF NEW.persona_type = 'HTTP' THEN
        IF NOT (NEW.config_details ? 'headers' AND NEW.config_details ? 'timeout') THEN
            RAISE EXCEPTION 'Invalid HTTP persona configuration: missing required fields (headers, timeout)';
        END IF;
        IF jsonb_typeof(NEW.config_details -> 'headers') <> 'object' THEN
            RAISE EXCEPTION 'Invalid HTTP persona configuration: headers must be an object';
        END IF;
        IF jsonb_typeof(NEW.config_details -> 'timeout') <> 'number' THEN
            RAISE EXCEPTION 'Invalid HTTP persona configuration: timeout must be a number';
        END IF;
        IF (NEW.config_details ->> 'timeout')::numeric <= 0 THEN
            RAISE EXCEPTION 'Invalid HTTP persona configuration: timeout must be positive';
        END IF;
    ELSE
        RAISE EXCEPTION 'Unknown persona type: %', NEW.persona_type;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER validate_persona_config_trigger BEFORE INSERT OR UPDATE ON personas
    FOR EACH ROW EXECUTE FUNCTION validate_persona_config();
COMMENT ON TRIGGER validate_persona_config_trigger ON personas IS
    'Enforces the persona config_details schema';

DROP FUNCTION validate_http_persona_config(jsonb);
DROP FUNCTION validate_dns_persona_config(jsonb);
