/**
 * Campaigns and what hangs off them: campaigns, campaign_jobs, the three params tables, the
 * generation state and generated_domains (legacy 000001 + the CHECKs of 000013 + indexes of
 * 000008/000009/000011/000014). Every legacy column and constraint is kept under its legacy name.
 */
import { col, fk, idx, isUuidText, NN, setTimestamp, table, v2Only } from './helpers.js';
import type { TableDef } from './model.js';

const TSTZ = 'timestamp with time zone';

/**
 * Every status the Go model defines. 'pausing' is included because the Go service writes it
 * (running → pausing → paused) and legacy never rejected it; a CHECK without it would break a
 * statement that works on legacy today.
 */
export const CAMPAIGN_STATUSES = [
  'pending',
  'queued',
  'running',
  'pausing',
  'paused',
  'completed',
  'failed',
  'archived',
  'cancelled',
] as const;
const statusList = CAMPAIGN_STATUSES.map((s) => `'${s}'::text`).join(', ');

export const campaigns: TableDef = table({
  schema: 'public',
  name: 'campaigns',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'text', NN),
    col('campaign_type', 'text', NN, "'domain_generation'::text"),
    col('status', 'text', NN),
    // legacy: text. v2: uuid referencing auth.users (types corrected; see conversionIssues)
    col('user_id', 'uuid'),
    col('total_items', 'bigint', false, '0'),
    col('processed_items', 'bigint', false, '0'),
    col('successful_items', 'bigint', false, '0'),
    col('failed_items', 'bigint', false, '0'),
    col('progress_percentage', 'double precision', false, '0.0'),
    col('metadata', 'jsonb'),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('started_at', TSTZ),
    col('completed_at', TSTZ),
    col('error_message', 'text'),
    // the guide's tracking columns: nullable, so every legacy INSERT (which lists its columns) still works
    col('estimated_completion_at', TSTZ),
    col('avg_processing_rate', 'double precision'),
    col('last_heartbeat_at', TSTZ),
  ],
  primaryKey: { name: 'campaigns_pkey', columns: ['id'] },
  checks: [
    {
      name: 'campaigns_campaign_type_check',
      expression:
        "campaign_type = ANY (ARRAY['domain_generation'::text, 'dns_validation'::text, 'http_keyword_validation'::text])",
    },
    // upstream v2 dropped the three 000013 CHECKs below (v2-delta §7.4); they stay
    {
      name: 'check_items_counts_valid',
      expression:
        '(total_items IS NULL OR total_items >= 0) AND (processed_items IS NULL OR processed_items >= 0) AND (successful_items IS NULL OR successful_items >= 0) AND (failed_items IS NULL OR failed_items >= 0)',
    },
    {
      name: 'check_processed_items_not_exceed_total',
      expression: 'total_items IS NULL OR processed_items IS NULL OR processed_items <= total_items',
    },
    {
      name: 'check_progress_percentage_range',
      expression:
        'progress_percentage IS NULL OR (progress_percentage >= 0::double precision AND progress_percentage <= 100::double precision)',
    },
    { name: 'campaigns_status_check', expression: `status = ANY (ARRAY[${statusList}])` },
  ],
  foreignKeys: [fk('campaigns_user_id_fkey', 'user_id', 'auth', 'users', 'SET NULL')],
  customOrphanIssues: ['campaigns_user_id_fkey'],
  indexes: [
    idx(
      'idx_campaigns_active_status',
      "USING btree (status, updated_at DESC) WHERE (status = ANY (ARRAY['pending'::text, 'queued'::text, 'running'::text, 'paused'::text]))",
    ),
    idx('idx_campaigns_created_at', 'USING btree (created_at DESC)'),
    idx('idx_campaigns_status', 'USING btree (status)'),
    idx('idx_campaigns_type', 'USING btree (campaign_type)'),
    idx('idx_campaigns_user_id', 'USING btree (user_id)'),
    idx('idx_campaigns_user_status_created', 'USING btree (user_id, status, created_at DESC)'),
    idx('idx_campaigns_user_status_type', 'USING btree (user_id, status, campaign_type)'),
  ],
  triggers: [
    setTimestamp('set_timestamp_campaigns'),
    {
      name: 'validate_campaign_metadata_trigger',
      definition:
        'BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION public.validate_campaign_metadata()',
    },
    {
      name: 'validate_campaign_status_transition_trigger',
      definition:
        'BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION public.validate_campaign_status_transition()',
    },
    // Legacy/upstream refresh_campaign_statistics_on_update modified the materialized view from a
    // row trigger, which PostgreSQL refuses: every status change failed (v2-delta §7.5). Not
    // installed; the view is refreshed on a schedule (refresh_all_materialized_views()).
    {
      name: 'log_campaign_status_change',
      definition:
        'AFTER UPDATE OF status ON {table} FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION public.trigger_log_campaign_status_change()',
    },
  ],
  mapping: {
    user_id: {
      // the not-UUID and unknown-user rows are handled by policy before this cast runs
      forward: 's.user_id::uuid',
      legacyColumn: 'user_id',
      reverse: 't.user_id::text',
    },
    estimated_completion_at: v2Only(),
    avg_processing_rate: v2Only(),
    last_heartbeat_at: v2Only(),
  },
  conversionIssues: [
    {
      id: 'campaigns.user_id.not_uuid',
      predicate: `s.user_id IS NOT NULL AND NOT ${isUuidText('s.user_id')}`,
      reason: 'campaigns.user_id is text in legacy and holds a value that is not a UUID (e.g. "system")',
      fix: 'UPDATE campaigns SET user_id = <the owning auth.users id> (or NULL) for these rows, or choose --on-invalid quarantine to keep them with user_id NULL',
      quarantine: { action: 'null_column', column: 'user_id' },
    },
    {
      id: 'campaigns.user_id.unknown_user',
      predicate: `CASE WHEN ${isUuidText('s.user_id')} THEN NOT EXISTS (SELECT 1 FROM "auth"."users" u WHERE u.id = s.user_id::uuid) ELSE false END`,
      reason:
        'campaigns.user_id is a UUID of no auth.users row; v2 adds the foreign key campaigns_user_id_fkey',
      fix: 'restore the missing users or UPDATE these campaigns to an existing user id (or NULL); quarantine keeps them with user_id NULL',
      quarantine: { action: 'null_column', column: 'user_id' },
    },
    {
      id: 'campaigns.status.not_allowed',
      predicate: `s.status <> ALL (ARRAY[${statusList}])`,
      reason: `campaigns.status is outside the v2 CHECK campaigns_status_check (${CAMPAIGN_STATUSES.join(', ')})`,
      fix: "UPDATE these campaigns to one of the known statuses (e.g. 'failed'); quarantine keeps them (and their child rows) out of v2 and saves them",
      quarantine: { action: 'exclude_row' },
    },
  ],
});

export const campaignJobs: TableDef = table({
  schema: 'public',
  name: 'campaign_jobs',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('campaign_id', 'uuid', NN),
    col('job_type', 'text', NN),
    col('status', 'text', NN, "'pending'::text"),
    col('job_payload', 'jsonb'),
    // upstream v2 made attempts/max_attempts nullable (v2-delta §7.4); they stay NOT NULL
    col('attempts', 'integer', NN, '0'),
    col('max_attempts', 'integer', NN, '3'),
    col('last_error', 'text'),
    col('last_attempted_at', TSTZ),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('scheduled_at', TSTZ, NN, 'now()'),
    col('processing_server_id', 'text'),
    col('next_execution_at', TSTZ),
    col('locked_at', TSTZ),
    col('locked_by', 'text'),
  ],
  primaryKey: { name: 'campaign_jobs_pkey', columns: ['id'] },
  checks: [
    { name: 'campaign_jobs_attempts_check', expression: 'attempts >= 0' },
    { name: 'campaign_jobs_max_attempts_check', expression: 'max_attempts > 0' },
  ],
  foreignKeys: [fk('campaign_jobs_campaign_id_fkey', 'campaign_id', 'public', 'campaigns', 'CASCADE')],
  indexes: [
    idx('idx_campaign_jobs_campaign_id', 'USING btree (campaign_id)'),
    idx('idx_campaign_jobs_campaign_status', 'USING btree (campaign_id, status)'),
    // job listing by campaign, newest first: one index scan instead of fetch-all + sort
    idx('idx_campaign_jobs_campaign_created', 'USING btree (campaign_id, created_at DESC)'),
    idx('idx_campaign_jobs_next_execution', 'USING btree (next_execution_at)'),
    idx('idx_campaign_jobs_scheduled_at', 'USING btree (scheduled_at)'),
    idx('idx_campaign_jobs_status', 'USING btree (status)'),
    idx(
      'idx_campaign_jobs_status_next_exec',
      "USING btree (status, next_execution_at) WHERE (status = ANY (ARRAY['queued'::text, 'running'::text]))",
    ),
    idx(
      'idx_campaign_jobs_status_scheduled',
      "USING btree (status, scheduled_at) WHERE (status = ANY (ARRAY['queued'::text, 'processing'::text]))",
    ),
  ],
  // legacy campaign_jobs had no updated_at trigger and the Go service sets updated_at itself;
  // adding one (as upstream did) is harmless and keeps updated_at honest for other writers
  triggers: [setTimestamp('set_timestamp_campaign_jobs')],
});

export const domainGenerationCampaignParams: TableDef = table({
  schema: 'public',
  name: 'domain_generation_campaign_params',
  columns: [
    col('campaign_id', 'uuid', NN),
    col('pattern_type', 'text', NN),
    col('variable_length', 'integer'),
    col('character_set', 'text'),
    col('constant_string', 'text'),
    col('tld', 'text', NN),
    col('num_domains_to_generate', 'integer', NN),
    col('total_possible_combinations', 'bigint', NN),
    col('current_offset', 'bigint', NN, '0'),
  ],
  primaryKey: { name: 'domain_generation_campaign_params_pkey', columns: ['campaign_id'] },
  checks: [
    { name: 'chk_positive_domains', expression: 'num_domains_to_generate > 0' },
    { name: 'chk_positive_combinations', expression: 'total_possible_combinations > 0' },
    { name: 'chk_valid_offset', expression: 'current_offset >= 0' },
    { name: 'chk_valid_length', expression: 'variable_length IS NULL OR variable_length > 0' },
  ],
  foreignKeys: [
    fk('domain_generation_campaign_params_campaign_id_fkey', 'campaign_id', 'public', 'campaigns', 'CASCADE'),
  ],
  conversionIssues: [
    {
      id: 'domain_generation_campaign_params.not_positive',
      predicate:
        's.num_domains_to_generate <= 0 OR s.total_possible_combinations <= 0 OR s.current_offset < 0',
      reason:
        'num_domains_to_generate and total_possible_combinations must be > 0 and current_offset >= 0 (new CHECKs chk_positive_domains, chk_positive_combinations, chk_valid_offset)',
      fix: 'correct the params row (a generation campaign with nothing to generate is broken), or quarantine it',
      quarantine: { action: 'exclude_row' },
    },
    {
      id: 'domain_generation_campaign_params.variable_length.not_positive',
      predicate: 's.variable_length IS NOT NULL AND s.variable_length <= 0',
      reason: 'variable_length must be NULL or > 0 (new CHECK chk_valid_length)',
      fix: 'UPDATE domain_generation_campaign_params SET variable_length = NULL (or the real length) for these rows',
      quarantine: { action: 'null_column', column: 'variable_length' },
    },
  ],
});

export const domainGenerationConfigStates: TableDef = table({
  schema: 'public',
  name: 'domain_generation_config_states',
  columns: [
    col('config_hash', 'text', NN),
    col('last_offset', 'bigint', NN),
    col('config_details', 'jsonb', NN),
    col('updated_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'domain_generation_config_states_pkey', columns: ['config_hash'] },
});

export const dnsValidationCampaignParams: TableDef = table({
  schema: 'public',
  // upstream v2 renamed this to dns_validation_params and broke 2 Go statements (v2-delta §2): name kept
  name: 'dns_validation_campaign_params',
  columns: [
    col('campaign_id', 'uuid', NN),
    col('source_generation_campaign_id', 'uuid'),
    col('persona_ids', 'uuid[]', NN),
    col('rotation_interval_seconds', 'integer', false, '0'),
    col('processing_speed_per_minute', 'integer', false, '0'),
    col('batch_size', 'integer', false, '50'),
    col('retry_attempts', 'integer', false, '1'),
    col('metadata', 'jsonb'),
  ],
  primaryKey: { name: 'dns_validation_campaign_params_pkey', columns: ['campaign_id'] },
  checks: [
    { name: 'dns_validation_campaign_params_batch_size_check', expression: 'batch_size > 0' },
    { name: 'dns_validation_campaign_params_retry_attempts_check', expression: 'retry_attempts >= 0' },
  ],
  foreignKeys: [
    fk(
      'dns_validation_campaign_param_source_generation_campaign_i_fkey',
      'source_generation_campaign_id',
      'public',
      'campaigns',
      'SET NULL',
    ),
    fk('dns_validation_campaign_params_campaign_id_fkey', 'campaign_id', 'public', 'campaigns', 'CASCADE'),
  ],
});

export const HTTP_SOURCE_TYPES = ['DomainGeneration', 'DNSValidation'] as const;
const sourceTypeList = HTTP_SOURCE_TYPES.map((s) => `'${s}'::text`).join(', ');

export const httpKeywordCampaignParams: TableDef = table({
  schema: 'public',
  name: 'http_keyword_campaign_params',
  columns: [
    col('campaign_id', 'uuid', NN),
    col('source_campaign_id', 'uuid', NN),
    col('source_type', 'text', NN),
    col('persona_ids', 'uuid[]', NN),
    // upstream v2 made this nullable (v2-delta §7.4); it stays NOT NULL
    col('keyword_set_ids', 'uuid[]', NN),
    col('ad_hoc_keywords', 'text[]'),
    col('proxy_ids', 'uuid[]'),
    col('proxy_pool_id', 'uuid'),
    col('proxy_selection_strategy', 'text'),
    col('rotation_interval_seconds', 'integer', false, '0'),
    col('processing_speed_per_minute', 'integer', false, '0'),
    col('batch_size', 'integer', false, '10'),
    col('retry_attempts', 'integer', false, '1'),
    col('target_http_ports', 'integer[]'),
    col('last_processed_domain_name', 'text'),
    col('metadata', 'jsonb'),
  ],
  primaryKey: { name: 'http_keyword_campaign_params_pkey', columns: ['campaign_id'] },
  checks: [
    { name: 'http_keyword_campaign_params_batch_size_check', expression: 'batch_size > 0' },
    { name: 'http_keyword_campaign_params_retry_attempts_check', expression: 'retry_attempts >= 0' },
    {
      name: 'http_keyword_campaign_params_source_type_check',
      expression: `source_type = ANY (ARRAY[${sourceTypeList}])`,
    },
  ],
  foreignKeys: [
    fk('http_keyword_campaign_params_campaign_id_fkey', 'campaign_id', 'public', 'campaigns', 'CASCADE'),
    fk(
      'http_keyword_campaign_params_source_campaign_id_fkey',
      'source_campaign_id',
      'public',
      'campaigns',
      'CASCADE',
    ),
  ],
  conversionIssues: [
    {
      id: 'http_keyword_campaign_params.source_type.not_allowed',
      predicate: `s.source_type <> ALL (ARRAY[${sourceTypeList}])`,
      reason: `source_type is outside the new CHECK http_keyword_campaign_params_source_type_check (${HTTP_SOURCE_TYPES.join(', ')})`,
      fix: "UPDATE http_keyword_campaign_params SET source_type = 'DomainGeneration' or 'DNSValidation' (whichever the source campaign is)",
      quarantine: { action: 'exclude_row' },
    },
  ],
});

export const generatedDomains: TableDef = table({
  schema: 'public',
  name: 'generated_domains',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('domain_generation_campaign_id', 'uuid', NN),
    col('domain_name', 'text', NN),
    col('source_keyword', 'text'),
    col('source_pattern', 'text'),
    col('tld', 'text'),
    col('offset_index', 'bigint', NN, '0'),
    col('generated_at', TSTZ, NN, 'now()'),
    col('created_at', TSTZ, NN, 'now()'),
    // Upstream v2's validation_status/validation_attempts/last_validation_at are not added: no
    // statement of the service writes them, so they would read 'pending' forever. The DNS and
    // HTTP outcome of a domain lives in dns_validation_results / http_keyword_results, which is
    // where campaign_statistics reads it.
  ],
  primaryKey: { name: 'generated_domains_pkey', columns: ['id'] },
  uniques: [
    { name: 'uq_generated_domains_campaign_name', columns: ['domain_generation_campaign_id', 'domain_name'] },
  ],
  foreignKeys: [
    fk(
      'generated_domains_domain_generation_campaign_id_fkey',
      'domain_generation_campaign_id',
      'public',
      'campaigns',
      'CASCADE',
    ),
  ],
  indexes: [
    // idx_domains_campaign_offset_status (000014) was an exact duplicate of this one: dropped
    // (it only made every insert maintain a second identical b-tree). Plain, not unique: legacy
    // never enforced one row per (campaign, offset_index).
    idx('idx_generated_domains_offset', 'USING btree (domain_generation_campaign_id, offset_index)'),
    idx('idx_generated_domains_campaign_id', 'USING btree (domain_generation_campaign_id)'),
    idx('idx_generated_domains_name', 'USING btree (domain_name)'),
  ],
});

export const CAMPAIGN_TABLES: TableDef[] = [
  campaigns,
  campaignJobs,
  domainGenerationCampaignParams,
  domainGenerationConfigStates,
  dnsValidationCampaignParams,
  httpKeywordCampaignParams,
  generatedDomains,
];
