/**
 * Views and materialized views over the mapped schemas.
 *
 * Upstream v2 joined every child table of a campaign in one GROUP BY (domains × DNS × HTTP × jobs
 * rows per campaign): averages and sums were computed over the fan-out (v2-delta §7.8) and the
 * refresh cost grew with the product. Here each child table is aggregated on its own, grouped by
 * campaign (or user), and joined once: one row per key, exact counts, refresh linear in the data.
 * Every materialized view has a UNIQUE index, so REFRESH ... CONCURRENTLY works on all three.
 */
import type { SchemaMap } from './model.js';

export function viewsSql(s: SchemaMap): string {
  const p = s.public;
  const a = s.auth;
  return `
-- campaign_statistics: legacy's 12 columns first (same names and order, so readers of the legacy
-- view keep working; user_id is uuid now like campaigns.user_id), then the v2 extras.
CREATE MATERIALIZED VIEW ${p}.campaign_statistics AS
SELECT c.id,
       c.user_id,
       c.campaign_type,
       c.status,
       c.created_at,
       c.started_at,
       c.completed_at,
       c.progress_percentage,
       COALESCE(gd.total_domains, 0::bigint) AS total_domains,
       COALESCE(dns.resolved_domains, 0::bigint) AS resolved_domains,
       COALESCE(http.validated_domains, 0::bigint) AS validated_domains,
       (EXTRACT(epoch FROM COALESCE(c.completed_at, now()) - c.started_at))::numeric AS duration_seconds,
       c.updated_at,
       c.total_items,
       c.processed_items,
       c.successful_items,
       c.failed_items,
       COALESCE(dns.total_dns_validations, 0::bigint) AS total_dns_validations,
       COALESCE(http.total_http_validations, 0::bigint) AS total_http_validations,
       COALESCE(http.http_keywords_found, 0::bigint) AS http_keywords_found,
       COALESCE(jobs.total_jobs, 0::bigint) AS total_jobs,
       COALESCE(jobs.active_jobs, 0::bigint) AS active_jobs,
       COALESCE(jobs.failed_jobs, 0::bigint) AS failed_jobs,
       gd.max_domain_offset,
       gd.first_domain_created_at,
       gd.last_domain_created_at
  FROM ${p}.campaigns c
  LEFT JOIN (SELECT domain_generation_campaign_id AS campaign_id,
                    count(*) AS total_domains,
                    max(offset_index) AS max_domain_offset,
                    min(created_at) AS first_domain_created_at,
                    max(created_at) AS last_domain_created_at
               FROM ${p}.generated_domains
              GROUP BY domain_generation_campaign_id) gd ON gd.campaign_id = c.id
  LEFT JOIN (SELECT dns_campaign_id AS campaign_id,
                    count(*) AS total_dns_validations,
                    count(*) FILTER (WHERE validation_status = 'resolved') AS resolved_domains
               FROM ${p}.dns_validation_results
              GROUP BY dns_campaign_id) dns ON dns.campaign_id = c.id
  LEFT JOIN (SELECT http_keyword_campaign_id AS campaign_id,
                    count(*) AS total_http_validations,
                    count(*) FILTER (WHERE validation_status = 'success') AS validated_domains,
                    count(*) FILTER (WHERE found_keywords_from_sets NOT IN ('[]'::jsonb, '{}'::jsonb, 'null'::jsonb)
                                        OR found_ad_hoc_keywords NOT IN ('[]'::jsonb, '{}'::jsonb, 'null'::jsonb)) AS http_keywords_found
               FROM ${p}.http_keyword_results
              GROUP BY http_keyword_campaign_id) http ON http.campaign_id = c.id
  LEFT JOIN (SELECT campaign_id,
                    count(*) AS total_jobs,
                    count(*) FILTER (WHERE status IN ('pending', 'queued', 'running', 'processing')) AS active_jobs,
                    count(*) FILTER (WHERE status = 'failed') AS failed_jobs
               FROM ${p}.campaign_jobs
              GROUP BY campaign_id) jobs ON jobs.campaign_id = c.id
WITH DATA;

-- legacy index names (000014 left them to PostgreSQL's naming); the unique one enables CONCURRENTLY
CREATE UNIQUE INDEX campaign_statistics_id_idx ON ${p}.campaign_statistics USING btree (id);
CREATE INDEX campaign_statistics_user_id_status_idx ON ${p}.campaign_statistics USING btree (user_id, status);
CREATE INDEX campaign_statistics_campaign_type_status_idx ON ${p}.campaign_statistics USING btree (campaign_type, status);

COMMENT ON MATERIALIZED VIEW ${p}.campaign_statistics IS 'Per-campaign statistics; refreshed by refresh_all_materialized_views() on a schedule (never from row triggers)';

-- user_activity_summary: upstream summed processed_items over campaigns × sessions × logins
-- (1 campaign of 100 items, 3 sessions, 2 logins gave 600). Each source is grouped by user first.
CREATE MATERIALIZED VIEW ${p}.user_activity_summary AS
SELECT u.id AS user_id,
       u.email,
       u.first_name,
       u.last_name,
       u.is_active,
       u.last_login_at,
       COALESCE(c.total_campaigns, 0::bigint) AS total_campaigns,
       COALESCE(c.completed_campaigns, 0::bigint) AS completed_campaigns,
       COALESCE(c.active_campaigns, 0::bigint) AS active_campaigns,
       COALESCE(s.active_sessions, 0::bigint) AS active_sessions,
       COALESCE(l.recent_logins, 0::bigint) AS recent_logins,
       c.last_campaign_created_at,
       COALESCE(c.total_processed_items, 0::bigint) AS total_processed_items
  FROM ${a}.users u
  LEFT JOIN (SELECT user_id,
                    count(*) AS total_campaigns,
                    count(*) FILTER (WHERE status = 'completed') AS completed_campaigns,
                    count(*) FILTER (WHERE status IN ('pending', 'queued', 'running', 'pausing', 'paused')) AS active_campaigns,
                    max(created_at) AS last_campaign_created_at,
                    sum(COALESCE(processed_items, 0))::bigint AS total_processed_items
               FROM ${p}.campaigns
              WHERE user_id IS NOT NULL
              GROUP BY user_id) c ON c.user_id = u.id
  LEFT JOIN (SELECT user_id, count(*) AS active_sessions
               FROM ${a}.sessions
              WHERE is_active = true AND expires_at > now()
              GROUP BY user_id) s ON s.user_id = u.id
  LEFT JOIN (SELECT user_id, count(*) AS recent_logins
               FROM ${a}.auth_audit_log
              WHERE user_id IS NOT NULL AND event_type = 'login' AND event_status = 'success'
                AND created_at > now() - interval '30 days'
              GROUP BY user_id) l ON l.user_id = u.id
WITH DATA;

CREATE UNIQUE INDEX idx_user_activity_user_id ON ${p}.user_activity_summary USING btree (user_id);
CREATE INDEX idx_user_activity_last_login ON ${p}.user_activity_summary USING btree (last_login_at DESC);
CREATE INDEX idx_user_activity_campaigns ON ${p}.user_activity_summary USING btree (total_campaigns DESC, completed_campaigns DESC);

COMMENT ON MATERIALIZED VIEW ${p}.user_activity_summary IS 'Per-user activity figures, one row per auth.users row';

-- system_performance_summary: upstream cross-joined campaigns × sessions × users × jobs × proxies
-- (3 billion estimated rows for a small database) and had no unique index, so it could not be
-- refreshed concurrently. One row of independent scalar subqueries, keyed by a constant.
CREATE MATERIALIZED VIEW ${p}.system_performance_summary AS
SELECT 1 AS summary_key,
       now() AS snapshot_time,
       (SELECT count(*) FROM ${p}.campaigns WHERE status = 'running') AS running_campaigns,
       (SELECT count(*) FROM ${p}.campaigns WHERE created_at > now() - interval '24 hours') AS campaigns_last_24h,
       (SELECT count(*) FROM ${a}.sessions WHERE is_active = true AND expires_at > now()) AS active_sessions,
       (SELECT count(DISTINCT user_id) FROM ${a}.sessions
         WHERE is_active = true AND last_activity_at > now() - interval '1 hour') AS active_users_last_hour,
       (SELECT avg(avg_processing_rate) FROM ${p}.campaigns
         WHERE status = 'running' AND avg_processing_rate IS NOT NULL) AS avg_processing_rate,
       (SELECT count(*) FROM ${p}.campaign_jobs WHERE status IN ('pending', 'queued')) AS pending_jobs,
       (SELECT count(*) FROM ${p}.campaign_jobs WHERE status IN ('running', 'processing')) AS running_jobs,
       (SELECT count(*) FROM ${p}.proxies WHERE is_enabled AND is_healthy) AS healthy_proxies,
       (SELECT count(*) FROM ${p}.proxies) AS total_proxies
WITH DATA;

CREATE UNIQUE INDEX idx_system_performance_summary_key ON ${p}.system_performance_summary USING btree (summary_key);

COMMENT ON MATERIALIZED VIEW ${p}.system_performance_summary IS 'One-row system snapshot (summary_key = 1); refreshed with the other views';

-- proxies_decrypted as legacy 000015: decrypts with the session setting app.encryption_key
CREATE VIEW ${p}.proxies_decrypted AS
SELECT id, name, description, address, protocol, username, host, port, is_enabled, is_healthy,
       last_status, last_checked_at, latency_ms, city, country_code, provider, created_at, updated_at,
       public.pgp_sym_decrypt(password_encrypted, current_setting('app.encryption_key')) AS password
  FROM ${p}.proxies
 WHERE password_encrypted IS NOT NULL;
`.trim();
}
