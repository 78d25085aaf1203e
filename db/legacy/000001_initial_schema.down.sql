-- 000001_initial_schema (down)
-- Drops everything 000001 created, dependants first. The uuid-ossp extension is kept: CREATE
-- EXTENSION IF NOT EXISTS cannot tell whether it created it, and other objects of the database
-- (or a later re-apply) may rely on it; re-applying 000001 finds it and yields the same catalog.

DROP TABLE http_keyword_results;
DROP TABLE dns_validation_results;
DROP TABLE http_keyword_campaign_params;
DROP TABLE dns_validation_campaign_params;
DROP TABLE generated_domains;
DROP TABLE domain_generation_config_states;
DROP TABLE domain_generation_campaign_params;
DROP TABLE campaign_jobs;
DROP TABLE campaigns;
DROP TABLE personas;
DROP TABLE keyword_sets;
DROP TABLE proxies;
DROP TABLE audit_logs;
DROP FUNCTION trigger_set_timestamp();
