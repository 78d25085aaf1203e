-- 000014_performance_optimization_indexes (down)
-- Outside a transaction, one statement at a time. Drops the view (with its indexes) and the ten
-- indexes this file created. idx_campaigns_user_status_created (000009) and
-- idx_campaign_jobs_next_execution (000001) were no-ops here and stay; refresh_campaign_statistics()
-- keeps 000009's identical definition.

DROP MATERIALIZED VIEW IF EXISTS campaign_statistics;

DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_entity_type_id;

DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_user_timestamp;

DROP INDEX CONCURRENTLY IF EXISTS idx_campaign_jobs_status_scheduled;

DROP INDEX CONCURRENTLY IF EXISTS idx_proxies_healthy_checked;

DROP INDEX CONCURRENTLY IF EXISTS idx_personas_type_enabled;

DROP INDEX CONCURRENTLY IF EXISTS idx_http_validation_status_checked;

DROP INDEX CONCURRENTLY IF EXISTS idx_http_validation_campaign_domain;

DROP INDEX CONCURRENTLY IF EXISTS idx_dns_validation_status_checked;

DROP INDEX CONCURRENTLY IF EXISTS idx_dns_validation_campaign_domain;

DROP INDEX CONCURRENTLY IF EXISTS idx_domains_campaign_offset_status;
