-- 000011_query_performance_optimization (down)
-- Outside a transaction, one statement at a time. idx_campaigns_user_status_created belongs to
-- 000009 (000011's statement for it was a no-op) and stays.

DROP FUNCTION IF EXISTS trigger_refresh_campaign_statistics();

DROP FUNCTION IF EXISTS refresh_campaign_statistics(uuid);

DROP INDEX CONCURRENTLY IF EXISTS idx_campaigns_active_status;

DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_entity_timestamp;

DROP INDEX CONCURRENTLY IF EXISTS idx_campaign_jobs_status_next_exec;
