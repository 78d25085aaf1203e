-- 000008_fix_uuid_array_validation (down)
-- The two foreign keys the up re-created are identical to 000001's and stay.

DROP INDEX idx_campaign_jobs_campaign_status;
DROP FUNCTION validate_persona_ids_exist();
DROP TRIGGER validate_persona_config_trigger ON personas;
DROP FUNCTION validate_persona_config();
