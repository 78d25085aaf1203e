-- 000014_performance_optimization_indexes
-- Indexes for result look-ups by campaign and domain, status scans, persona/proxy filters, the job
-- queue and audit queries; the campaign_statistics materialized view with its three indexes; the
-- whole-view refresh function (same body as 000009's); fresh planner statistics.
--
-- Runs outside a transaction, one statement at a time (CONCURRENTLY); every statement is
-- idempotent. Two statements are no-ops on a database built by this history, as in legacy:
-- idx_campaigns_user_status_created (from 000009) and idx_campaign_jobs_next_execution, which
-- 000001 already created without a predicate, so this file's partial variant is skipped.
-- idx_domains_campaign_offset_status duplicates idx_generated_domains_offset exactly; kept, because
-- legacy has it.
--
-- campaign_statistics: 000009/000011 never created the view (model C), so this file does. Its
-- three indexes are unnamed upstream; they carry here the names PostgreSQL generated for them.
-- The unique index on id is what lets REFRESH ... CONCURRENTLY work.
-- duration_seconds is cast to numeric so it is numeric on every supported PostgreSQL version
-- (EXTRACT returns double precision before PostgreSQL 14).

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_user_status_created
    ON campaigns (user_id, status, created_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_domains_campaign_offset_status
    ON generated_domains (domain_generation_campaign_id, offset_index);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_dns_validation_campaign_domain
    ON dns_validation_results (dns_campaign_id, domain_name);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_dns_validation_status_checked
    ON dns_validation_results (validation_status, last_checked_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_http_validation_campaign_domain
    ON http_keyword_results (http_keyword_campaign_id, domain_name);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_http_validation_status_checked
    ON http_keyword_results (validation_status, last_checked_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_personas_type_enabled
    ON personas (persona_type, is_enabled);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_proxies_healthy_checked
    ON proxies (is_healthy, last_checked_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaign_jobs_status_scheduled
    ON campaign_jobs (status, scheduled_at)
    WHERE status IN ('queued', 'processing');

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaign_jobs_next_execution
    ON campaign_jobs (next_execution_at)
    WHERE status = 'queued';

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_audit_logs_user_timestamp
    ON audit_logs (user_id, "timestamp" DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_audit_logs_entity_type_id
    ON audit_logs (entity_type, entity_id, "timestamp" DESC);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_statistics AS
SELECT c.id,
       c.user_id,
       c.campaign_type,
       c.status,
       c.created_at,
       c.started_at,
       c.completed_at,
       c.progress_percentage,
       count(DISTINCT gd.id) AS total_domains,
       count(DISTINCT CASE WHEN dvr.validation_status = 'resolved' THEN dvr.id END) AS resolved_domains,
       count(DISTINCT CASE WHEN hkr.validation_status = 'success' THEN hkr.id END) AS validated_domains,
       EXTRACT(EPOCH FROM (COALESCE(c.completed_at, CURRENT_TIMESTAMP) - c.started_at))::numeric AS duration_seconds
FROM campaigns c
LEFT JOIN domain_generation_campaign_params dgcp ON dgcp.campaign_id = c.id
LEFT JOIN generated_domains gd ON gd.domain_generation_campaign_id = c.id
LEFT JOIN dns_validation_campaign_params dvcp ON dvcp.campaign_id = c.id
LEFT JOIN dns_validation_results dvr ON dvr.dns_campaign_id = c.id
LEFT JOIN http_keyword_campaign_params hkcp ON hkcp.campaign_id = c.id
LEFT JOIN http_keyword_results hkr ON hkr.http_keyword_campaign_id = c.id
GROUP BY c.id, c.user_id, c.campaign_type, c.status, c.created_at, c.started_at, c.completed_at,
         c.progress_percentage;

CREATE UNIQUE INDEX IF NOT EXISTS campaign_statistics_id_idx
    ON campaign_statistics (id);

CREATE INDEX IF NOT EXISTS campaign_statistics_user_id_status_idx
    ON campaign_statistics (user_id, status);

CREATE INDEX IF NOT EXISTS campaign_statistics_campaign_type_status_idx
    ON campaign_statistics (campaign_type, status);

CREATE OR REPLACE FUNCTION refresh_campaign_statistics() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY campaign_statistics;
END;
$$;

ANALYZE campaigns;

ANALYZE generated_domains;

ANALYZE dns_validation_results;

ANALYZE http_keyword_results;

ANALYZE personas;

ANALYZE proxies;

ANALYZE campaign_jobs;

ANALYZE audit_logs;
