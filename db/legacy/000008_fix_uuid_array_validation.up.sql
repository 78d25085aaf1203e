-- 000008_fix_uuid_array_validation
-- Persona config validation (first version), a persona-id existence check function, the
-- campaign_jobs (campaign_id, status) index, and re-creation of two campaign foreign keys with
-- ON DELETE CASCADE (identical to the ones 000001 made, so the catalog does not change).
--
-- Model C (legacy-schema.md §1): the upstream file also targets tables `dns_validation_params` and
-- `http_validation_results`, which no migration creates (000001 names them
-- dns_validation_campaign_params / http_keyword_results, as does the Go service). Those 9
-- statements (a data clean-up block, the check_persona_ids_valid CHECK and its comment, two FK
-- re-creations, the persona-id trigger and a GIN index) never applied anywhere and are left out.
-- So validate_persona_ids_exist() exists but is attached to nothing.
--
-- validate_persona_config() here checks the upper-case types of that era ('DNS'/'HTTP');
-- 000013 replaces it and re-creates its trigger; 000016 moves persona types to lower case.

CREATE FUNCTION validate_persona_config() RETURNS trigger
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

ALTER TABLE campaign_jobs DROP CONSTRAINT IF EXISTS campaign_jobs_campaign_id_fkey;
ALTER TABLE campaign_jobs ADD CONSTRAINT campaign_jobs_campaign_id_fkey
    FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE;

ALTER TABLE generated_domains DROP CONSTRAINT IF EXISTS generated_domains_domain_generation_campaign_id_fkey;
ALTER TABLE generated_domains ADD CONSTRAINT generated_domains_domain_generation_campaign_id_fkey
    FOREIGN KEY (domain_generation_campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE;

-- Meant for a trigger on DNS params' persona_ids (see header); unattached.
CREATE FUNCTION validate_persona_ids_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid uuid;
BEGIN
    FOREACH pid IN ARRAY NEW.persona_ids LOOP
        IF NOT EXISTS (SELECT 1 FROM personas WHERE id = pid) THEN
            RAISE EXCEPTION 'Persona ID % does not exist', pid;
        END IF;
    END LOOP;
    RETURN NEW;
END;
$$;

CREATE INDEX IF NOT EXISTS idx_campaign_jobs_campaign_status ON campaign_jobs (campaign_id, status);

COMMENT ON FUNCTION validate_persona_config() IS
    'Validates the JSONB config_details of a persona according to its type (dns/http)';
COMMENT ON TRIGGER validate_persona_config_trigger ON personas IS
    'Enforces the persona config_details schema';
