/**
 * Validation results and the audit log. Indexes are chosen from what the service runs
 * (shared/domainflow/README.md "Where legacy is slow"): the DNS work queue needs an index on the
 * generated_domain_id foreign key (legacy has none: 50–60× slower), counts and pages by campaign
 * want (campaign, status[, name]) composites, and two legacy indexes that exactly duplicate the
 * unique constraints' indexes are dropped. Statements: workload/statements.ts (dns_work_queue,
 * dns_results_page, http_results_page, jobs_by_campaign).
 */
import { col, fk, idx, isInetText, isUuidText, NN, table } from './helpers.js';
import type { TableDef } from './model.js';

const TSTZ = 'timestamp with time zone';

export const dnsValidationResults: TableDef = table({
  schema: 'public',
  name: 'dns_validation_results',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('dns_campaign_id', 'uuid', NN),
    col('generated_domain_id', 'uuid'),
    col('domain_name', 'text', NN),
    col('validation_status', 'text', NN),
    col('dns_records', 'jsonb'),
    col('validated_by_persona_id', 'uuid'),
    col('attempts', 'integer', false, '0'),
    col('last_checked_at', TSTZ),
    col('created_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'dns_validation_results_pkey', columns: ['id'] },
  uniques: [{ name: 'uq_dns_results_campaign_domain', columns: ['dns_campaign_id', 'domain_name'] }],
  foreignKeys: [
    fk('dns_validation_results_dns_campaign_id_fkey', 'dns_campaign_id', 'public', 'campaigns', 'CASCADE'),
    fk(
      'dns_validation_results_generated_domain_id_fkey',
      'generated_domain_id',
      'public',
      'generated_domains',
      'SET NULL',
    ),
    fk(
      'dns_validation_results_validated_by_persona_id_fkey',
      'validated_by_persona_id',
      'public',
      'personas',
      'SET NULL',
    ),
  ],
  indexes: [
    idx('idx_dns_results_campaign_id', 'USING btree (dns_campaign_id)'),
    idx('idx_dns_results_domain_name', 'USING btree (domain_name)'),
    idx('idx_dns_results_status', 'USING btree (validation_status)'),
    idx('idx_dns_validation_status_checked', 'USING btree (validation_status, last_checked_at DESC)'),
    // idx_dns_validation_campaign_domain (dns_campaign_id, domain_name) duplicated
    // uq_dns_results_campaign_domain exactly: dropped.
    // The DNS work queue anti-joins generated_domains to this column; deleting a generated
    // domain (ON DELETE SET NULL) also needs it.
    idx('idx_dns_results_generated_domain_id', 'USING btree (generated_domain_id)'),
    // result pages by campaign, newest first (ORDER BY created_at DESC LIMIT/OFFSET): an ordered
    // index scan instead of reading and sorting every result of the campaign
    idx('idx_dns_results_campaign_created', 'USING btree (dns_campaign_id, created_at DESC)'),
  ],
});

export const httpKeywordResults: TableDef = table({
  schema: 'public',
  name: 'http_keyword_results',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('http_keyword_campaign_id', 'uuid', NN),
    col('dns_result_id', 'uuid'),
    col('domain_name', 'text', NN),
    col('validation_status', 'text', NN),
    col('http_status_code', 'integer'),
    col('response_headers', 'jsonb'),
    col('page_title', 'text'),
    col('extracted_content_snippet', 'text'),
    col('found_keywords_from_sets', 'jsonb'),
    col('found_ad_hoc_keywords', 'jsonb'),
    col('content_hash', 'text'),
    col('validated_by_persona_id', 'uuid'),
    col('used_proxy_id', 'uuid'),
    // upstream v2 made attempts nullable (v2-delta §7.4); it stays NOT NULL
    col('attempts', 'integer', NN, '0'),
    col('last_checked_at', TSTZ),
    col('created_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'http_keyword_results_pkey', columns: ['id'] },
  uniques: [
    { name: 'uq_http_results_campaign_domain', columns: ['http_keyword_campaign_id', 'domain_name'] },
  ],
  foreignKeys: [
    fk(
      'http_keyword_results_dns_result_id_fkey',
      'dns_result_id',
      'public',
      'dns_validation_results',
      'SET NULL',
    ),
    fk(
      'http_keyword_results_http_keyword_campaign_id_fkey',
      'http_keyword_campaign_id',
      'public',
      'campaigns',
      'CASCADE',
    ),
    fk('http_keyword_results_used_proxy_id_fkey', 'used_proxy_id', 'public', 'proxies', 'SET NULL'),
    fk(
      'http_keyword_results_validated_by_persona_id_fkey',
      'validated_by_persona_id',
      'public',
      'personas',
      'SET NULL',
    ),
  ],
  indexes: [
    idx('idx_http_results_campaign_id', 'USING btree (http_keyword_campaign_id)'),
    idx('idx_http_results_domain_name', 'USING btree (domain_name)'),
    idx('idx_http_results_status', 'USING btree (validation_status)'),
    idx('idx_http_validation_status_checked', 'USING btree (validation_status, last_checked_at DESC)'),
    // idx_http_validation_campaign_domain duplicated uq_http_results_campaign_domain: dropped.
    // Deleting DNS results (campaign cascade) sets dns_result_id NULL here: needs an index.
    idx('idx_http_results_dns_result_id', 'USING btree (dns_result_id) WHERE (dns_result_id IS NOT NULL)'),
    // result pages by campaign, newest first
    idx('idx_http_results_campaign_created', 'USING btree (http_keyword_campaign_id, created_at DESC)'),
  ],
  // Upstream's update_persona_usage_http / update_proxy_usage triggers are not installed: they
  // update one persona/proxy row per result insert (every worker using the same persona
  // serialises on that row), the proxy success_rate used the old failure count (v2-delta §5),
  // and on a legacy-shaped table they broke every insert (§7.11). Usage is derivable from these
  // rows when needed.
});

const EXEMPT_NOTE =
  'user_created, user_deleted, role_assigned and permission_granted rows are kept by cleanup_old_audit_logs';

export const auditLogs: TableDef = table({
  schema: 'public',
  name: 'audit_logs',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('timestamp', TSTZ, NN, 'now()'),
    // legacy: text. v2: uuid referencing auth.users, ON DELETE SET NULL (the log row outlives the user)
    col('user_id', 'uuid'),
    col('action', 'text', NN),
    col('entity_type', 'text'),
    col('entity_id', 'uuid'),
    col('details', 'jsonb'),
    // legacy: text. v2: inet
    col('client_ip', 'inet'),
    col('user_agent', 'text'),
  ],
  primaryKey: { name: 'audit_logs_pkey', columns: ['id'] },
  foreignKeys: [fk('audit_logs_user_id_fkey', 'user_id', 'auth', 'users', 'SET NULL')],
  customOrphanIssues: ['audit_logs_user_id_fkey'],
  indexes: [
    idx(
      'idx_audit_logs_entity_timestamp',
      'USING btree (entity_id, "timestamp" DESC) WHERE (entity_type = \'Campaign\'::text)',
    ),
    idx('idx_audit_logs_entity_type_id', 'USING btree (entity_type, entity_id, "timestamp" DESC)'),
    idx('idx_audit_logs_user_timestamp', 'USING btree (user_id, "timestamp" DESC)'),
    // retention deletes (cleanup_old_audit_logs) and "latest activity" reads are ranges on timestamp
    idx('idx_audit_logs_timestamp', 'USING btree ("timestamp")'),
  ],
  comment: `Application audit trail. ${EXEMPT_NOTE}.`,
  mapping: {
    user_id: { forward: 's.user_id::uuid', legacyColumn: 'user_id', reverse: 't.user_id::text' },
    // host() drops the /32 (/128) that inet::text would add, so a legacy '10.0.0.1' round-trips
    client_ip: {
      forward: 's.client_ip::inet',
      legacyColumn: 'client_ip',
      reverse:
        'CASE WHEN t.client_ip IS NULL THEN NULL WHEN masklen(t.client_ip) = CASE family(t.client_ip) WHEN 4 THEN 32 ELSE 128 END THEN host(t.client_ip) ELSE t.client_ip::text END',
    },
  },
  conversionIssues: [
    {
      id: 'audit_logs.user_id.not_uuid',
      predicate: `s.user_id IS NOT NULL AND NOT ${isUuidText('s.user_id')}`,
      reason: 'audit_logs.user_id is text in legacy and holds a value that is not a UUID (e.g. "system")',
      fix: 'keep the rows with user_id NULL (quarantine saves the original value), or UPDATE them to the acting user id',
      quarantine: { action: 'null_column', column: 'user_id' },
    },
    {
      id: 'audit_logs.user_id.unknown_user',
      predicate: `CASE WHEN ${isUuidText('s.user_id')} THEN NOT EXISTS (SELECT 1 FROM "auth"."users" u WHERE u.id = s.user_id::uuid) ELSE false END`,
      reason:
        'audit_logs.user_id is a UUID of no auth.users row; v2 adds the foreign key audit_logs_user_id_fkey',
      fix: 'quarantine keeps the rows with user_id NULL and saves the original value; or restore the missing users',
      quarantine: { action: 'null_column', column: 'user_id' },
    },
    {
      id: 'audit_logs.client_ip.not_inet',
      predicate: `s.client_ip IS NOT NULL AND NOT ${isInetText('s.client_ip')}`,
      reason:
        'audit_logs.client_ip is text in legacy and holds a value that is not an IP address (e.g. "unknown")',
      fix: 'keep the rows with client_ip NULL (quarantine saves the original value), or UPDATE client_ip to NULL',
      quarantine: { action: 'null_column', column: 'client_ip' },
    },
  ],
});

export const RESULT_TABLES: TableDef[] = [dnsValidationResults, httpKeywordResults, auditLogs];
