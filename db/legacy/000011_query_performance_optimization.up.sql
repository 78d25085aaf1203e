-- 000011_query_performance_optimization
-- Partial indexes for the job queue, a campaign's audit trail and active campaigns; the
-- per-campaign statistics refresh functions; fresh planner statistics.
--
-- Runs outside a transaction, one statement at a time (CONCURRENTLY); every statement is
-- idempotent. idx_campaigns_user_status_created already exists (000009) and is skipped.
--
-- Model C (legacy-schema.md §1): the upstream file's statements that name objects no migration
-- creates never applied and are left out: indexes on generated_domains.validation_status,
-- dns_validation_results.campaign_id, http_keyword_validation_results, personas.user_id /
-- is_active and keyword_sets.user_id; its campaign_statistics materialized view (joins on
-- dns.campaign_id) with its 4 indexes and comment; ANALYZE of the missing table.
--
-- REPAIR (our erratum 2, see /work/shared/domainflow/README.md): upstream also attaches
-- trigger refresh_campaign_statistics_on_update (AFTER UPDATE on campaigns, per row), which calls
-- refresh_campaign_statistics(uuid); that DELETEs/INSERTs rows of a materialized view, which
-- PostgreSQL rejects, so every status/progress update of a campaign failed. The trigger is not
-- installed: campaign_statistics is refreshed on a schedule (refresh_campaign_statistics()).
-- The two functions are kept, unattached, because they are part of the legacy catalog and
-- harmless unless called (refresh_campaign_statistics(uuid) still fails if someone calls it).

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_user_status_created
    ON campaigns (user_id, status, created_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaign_jobs_status_next_exec
    ON campaign_jobs (status, next_execution_at)
    WHERE status IN ('queued', 'running');

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_audit_logs_entity_timestamp
    ON audit_logs (entity_id, "timestamp" DESC)
    WHERE entity_type = 'Campaign';

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_active_status
    ON campaigns (status, updated_at DESC)
    WHERE status IN ('pending', 'queued', 'running', 'paused');

-- Written for 000011's own (never created) view shape: it replaces one campaign's row of the
-- materialized view, which PostgreSQL does not allow. Kept only because legacy has it.
CREATE OR REPLACE FUNCTION refresh_campaign_statistics(campaign_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM campaign_statistics cs WHERE cs.id = refresh_campaign_statistics.campaign_id;
    INSERT INTO campaign_statistics
    SELECT c.id, c.user_id, c.campaign_type, c.status, c.created_at, c.started_at, c.completed_at,
           COALESCE(c.total_items, 0), COALESCE(c.processed_items, 0), COALESCE(c.progress_percentage, 0),
           count(DISTINCT gd.id),
           count(DISTINCT dns.id) FILTER (WHERE dns.validation_status = 'resolved'),
           count(DISTINCT http.id) FILTER (WHERE http.validation_status = 'success'),
           EXTRACT(EPOCH FROM (COALESCE(c.completed_at, now()) - c.created_at))
    FROM campaigns c
    LEFT JOIN generated_domains gd ON gd.domain_generation_campaign_id = c.id
    LEFT JOIN dns_validation_results dns ON dns.dns_campaign_id = c.id
    LEFT JOIN http_keyword_results http ON http.http_keyword_campaign_id = c.id
    WHERE c.id = refresh_campaign_statistics.campaign_id
    GROUP BY c.id;
END;
$$;

-- The trigger function stays unattached (see header). NULL on either side of != means
-- "unchanged", as upstream wrote it; completed_at is compared NULL-aware.
CREATE OR REPLACE FUNCTION trigger_refresh_campaign_statistics() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status != OLD.status
       OR NEW.progress_percentage != OLD.progress_percentage
       OR NEW.processed_items != OLD.processed_items
       OR NEW.completed_at IS DISTINCT FROM OLD.completed_at THEN
        PERFORM refresh_campaign_statistics(NEW.id);
    END IF;
    RETURN NEW;
END;
$$;

ANALYZE campaigns;

ANALYZE generated_domains;

ANALYZE dns_validation_results;

ANALYZE campaign_jobs;

ANALYZE personas;

ANALYZE keyword_sets;
