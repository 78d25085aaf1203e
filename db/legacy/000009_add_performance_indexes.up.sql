-- 000009_add_performance_indexes
-- Composite indexes for listing a user's campaigns by status, and the whole-view refresh function
-- for campaign_statistics.
--
-- Runs outside a transaction, one statement at a time (it builds indexes CONCURRENTLY); every
-- statement is idempotent so a re-run after an interruption is safe.
--
-- Model C (legacy-schema.md §1): the upstream file also builds an index on
-- generated_domains(..., validation_status) and a campaign_statistics materialized view that
-- reads generated_domains.validation_status / updated_at. Neither column exists in any version of
-- the schema, so those statements (index, view, its 3 indexes and its comment) never applied and
-- are left out. The view is created by 000014. refresh_campaign_statistics() is created here
-- anyway (PL/pgSQL resolves the view only when called), exactly as the upstream run left it.

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_user_status_created
    ON campaigns (user_id, status, created_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_user_status_type
    ON campaigns (user_id, status, campaign_type);

CREATE OR REPLACE FUNCTION refresh_campaign_statistics() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY campaign_statistics;
END;
$$;

COMMENT ON FUNCTION refresh_campaign_statistics() IS
    'Refreshes the campaign_statistics materialized view without blocking readers; call it from a scheduled job every few minutes';
