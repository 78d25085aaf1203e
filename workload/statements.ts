/**
 * Every SQL statement the simulated DomainFlow Go service runs, written the way that service writes
 * them against the LEGACY schema: `$n` parameters, unqualified `public` table names, `auth.` for the
 * auth tables, explicit column lists (never `*`, so an added column cannot change a result shape).
 *
 * Compatibility contract: schema v2 must accept every statement here unchanged (a test PREPAREs each
 * one on legacy and on v2). So parameter types are left to inference from the columns they meet:
 * `campaigns.user_id = $1` infers text on legacy and uuid on v2, and the caller passes a UUID string
 * that is valid for both. No cast here depends on a legacy column type.
 *
 * Writes end in `RETURNING <primary key>, <the columns the statement wrote>[, <parent key>]`: the
 * traffic simulator records exactly those server-side values (in text form) in its write ledger, so
 * values computed by the server (NOW(), attempts + 1, trigger-overwritten columns) are recorded as
 * stored. The trailing parent key (e.g. `domain_generation_campaign_id` on a generated-domain update)
 * lets the ledger model the cascades the database performs when the parent is deleted later.
 */

/** Rows inserted by one `domains_insert_batch` statement (the Go service inserts in fixed batches). */
export const DOMAIN_BATCH = 10;

const DOMAIN_COLS = [
  'id',
  'domain_generation_campaign_id',
  'domain_name',
  'source_keyword',
  'source_pattern',
  'tld',
  'offset_index',
  'generated_at',
] as const;

function domainBatchInsert(rows: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const ps = DOMAIN_COLS.map((_, c) => `$${r * DOMAIN_COLS.length + c + 1}`);
    tuples.push(`(${ps.join(', ')})`);
  }
  return `INSERT INTO generated_domains (${DOMAIN_COLS.join(', ')}) VALUES ${tuples.join(', ')} RETURNING ${DOMAIN_COLS.join(', ')}`;
}

/** Parameters per row of `domains_insert_batch`, in order. */
export const DOMAIN_BATCH_COLUMNS = DOMAIN_COLS;

const CAMPAIGN_DETAIL_COLS =
  'id, name, campaign_type, status, user_id, total_items, processed_items, successful_items, failed_items, progress_percentage, metadata, created_at, updated_at, started_at, completed_at, error_message';

/** The statements by name. Reads first, then writes. */
export const S = {
  // ---- reads ------------------------------------------------------------------------------------
  campaign_list_by_user_status: `SELECT id, name, campaign_type, status, total_items, processed_items, progress_percentage, created_at, updated_at FROM campaigns WHERE user_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT $3`,
  campaign_detail: `SELECT ${CAMPAIGN_DETAIL_COLS} FROM campaigns WHERE id = $1`,
  campaign_generation_params: `SELECT campaign_id, pattern_type, variable_length, character_set, constant_string, tld, num_domains_to_generate, total_possible_combinations, current_offset FROM domain_generation_campaign_params WHERE campaign_id = $1`,
  domains_page: `SELECT id, domain_name, source_keyword, source_pattern, tld, offset_index, generated_at FROM generated_domains WHERE domain_generation_campaign_id = $1 ORDER BY offset_index ASC LIMIT $2 OFFSET $3`,
  domains_count: `SELECT COUNT(*) FROM generated_domains WHERE domain_generation_campaign_id = $1`,
  dns_work_queue: `SELECT gd.id, gd.domain_name FROM generated_domains gd WHERE gd.domain_generation_campaign_id = $1 AND NOT EXISTS (SELECT 1 FROM dns_validation_results dvr WHERE dvr.generated_domain_id = gd.id) ORDER BY gd.offset_index ASC LIMIT $2`,
  dns_results_page: `SELECT id, generated_domain_id, domain_name, validation_status, dns_records, attempts, last_checked_at FROM dns_validation_results WHERE dns_campaign_id = $1 ORDER BY created_at DESC LIMIT $2 OFFSET $3`,
  http_results_page: `SELECT id, dns_result_id, domain_name, validation_status, http_status_code, page_title, found_keywords_from_sets, last_checked_at FROM http_keyword_results WHERE http_keyword_campaign_id = $1 ORDER BY created_at DESC LIMIT $2`,
  session_validate: `SELECT s.id, s.user_id, s.expires_at, s.last_activity_at, u.email, u.first_name, u.last_name, u.is_active, u.is_locked FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id WHERE s.id = $1 AND s.is_active = true AND s.expires_at > NOW() AND u.is_active = true`,
  job_queue: `SELECT id, campaign_id, job_type, status, job_payload, attempts, max_attempts, scheduled_at FROM campaign_jobs WHERE status = $1 AND attempts < max_attempts ORDER BY COALESCE(scheduled_at, '1970-01-01'::timestamp) ASC LIMIT $2`,
  jobs_by_campaign: `SELECT id, job_type, status, attempts, last_error, scheduled_at, created_at FROM campaign_jobs WHERE campaign_id = $1 ORDER BY created_at DESC LIMIT $2`,
  keyword_sets_enabled: `SELECT id, name, description, keywords, is_enabled FROM keyword_sets WHERE is_enabled = true ORDER BY name ASC LIMIT $1`,
  keyword_rules_by_set: `SELECT id, pattern, rule_type, is_case_sensitive, category, context_chars FROM keyword_rules WHERE keyword_set_id = $1 ORDER BY created_at ASC`,
  proxies_healthy: `SELECT id, name, address, protocol, host, port, last_status, latency_ms FROM proxies WHERE is_enabled = true AND is_healthy = true ORDER BY last_checked_at DESC NULLS LAST LIMIT $1`,
  audit_by_entity: `SELECT id, timestamp, user_id, action, details, client_ip FROM audit_logs WHERE entity_type = $1 AND entity_id = $2 ORDER BY timestamp DESC LIMIT $3`,

  // ---- writes: campaigns ------------------------------------------------------------------------
  campaign_insert: `INSERT INTO campaigns (id, name, campaign_type, status, user_id, total_items, processed_items, successful_items, failed_items, progress_percentage, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, $7, NOW(), NOW()) RETURNING id, name, campaign_type, status, user_id, total_items, processed_items, successful_items, failed_items, progress_percentage, metadata, created_at, updated_at`,
  generation_params_insert: `INSERT INTO domain_generation_campaign_params (campaign_id, pattern_type, variable_length, character_set, constant_string, tld, num_domains_to_generate, total_possible_combinations, current_offset) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING campaign_id, pattern_type, variable_length, character_set, constant_string, tld, num_domains_to_generate, total_possible_combinations, current_offset`,
  campaign_lock_status: `SELECT status, total_items, processed_items FROM campaigns WHERE id = $1 FOR UPDATE`,
  campaign_update_progress: `UPDATE campaigns SET processed_items = $2, successful_items = $3, failed_items = $4, total_items = $5, progress_percentage = $6, updated_at = NOW() WHERE id = $1 RETURNING id, processed_items, successful_items, failed_items, total_items, progress_percentage, updated_at`,
  campaign_update_status: `UPDATE campaigns SET status = $2, updated_at = NOW() WHERE id = $1 RETURNING id, status, updated_at`,
  campaign_start: `UPDATE campaigns SET status = $2, started_at = NOW(), updated_at = NOW() WHERE id = $1 RETURNING id, status, started_at, updated_at`,
  campaign_complete: `UPDATE campaigns SET status = $2, completed_at = NOW(), updated_at = NOW() WHERE id = $1 RETURNING id, status, completed_at, updated_at`,
  campaign_fail: `UPDATE campaigns SET status = $2, error_message = $3, completed_at = NOW(), updated_at = NOW() WHERE id = $1 RETURNING id, status, error_message, completed_at, updated_at`,
  campaign_requeue: `UPDATE campaigns SET status = $2, started_at = NULL, completed_at = NULL, error_message = NULL, updated_at = NOW() WHERE id = $1 RETURNING id, status, started_at, completed_at, error_message, updated_at`,
  campaign_clear_error: `UPDATE campaigns SET error_message = NULL, updated_at = NOW() WHERE id = $1 RETURNING id, error_message, updated_at`,
  campaign_delete: `DELETE FROM campaigns WHERE id = $1 RETURNING id`,

  // ---- writes: generated domains ----------------------------------------------------------------
  generation_params_lock_offset: `SELECT current_offset, tld FROM domain_generation_campaign_params WHERE campaign_id = $1 FOR UPDATE`,
  domains_insert_batch: domainBatchInsert(DOMAIN_BATCH),
  generation_params_set_offset: `UPDATE domain_generation_campaign_params SET current_offset = $2 WHERE campaign_id = $1 RETURNING campaign_id, current_offset`,
  domain_update_source: `UPDATE generated_domains SET source_keyword = $2, source_pattern = $3 WHERE id = $1 RETURNING id, source_keyword, source_pattern, domain_generation_campaign_id`,
  domain_clear_keyword: `UPDATE generated_domains SET source_keyword = NULL WHERE id = $1 RETURNING id, source_keyword, domain_generation_campaign_id`,

  // ---- writes: validation results ---------------------------------------------------------------
  dns_result_insert: `INSERT INTO dns_validation_results (id, dns_campaign_id, generated_domain_id, domain_name, validation_status, dns_records, validated_by_persona_id, attempts, last_checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NOW()) ON CONFLICT (dns_campaign_id, domain_name) DO NOTHING RETURNING id, dns_campaign_id, generated_domain_id, domain_name, validation_status, dns_records, validated_by_persona_id, attempts, last_checked_at`,
  dns_result_update: `UPDATE dns_validation_results SET validation_status = $2, attempts = attempts + 1, last_checked_at = NOW() WHERE id = $1 RETURNING id, validation_status, attempts, last_checked_at, dns_campaign_id`,
  dns_result_clear_records: `UPDATE dns_validation_results SET dns_records = NULL WHERE id = $1 RETURNING id, dns_records, dns_campaign_id`,
  dns_result_delete: `DELETE FROM dns_validation_results WHERE id = $1 RETURNING id`,
  http_result_insert: `INSERT INTO http_keyword_results (id, http_keyword_campaign_id, dns_result_id, domain_name, validation_status, http_status_code, response_headers, page_title, extracted_content_snippet, found_keywords_from_sets, found_ad_hoc_keywords, content_hash, used_proxy_id, attempts, last_checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NOW()) ON CONFLICT (http_keyword_campaign_id, domain_name) DO NOTHING RETURNING id, http_keyword_campaign_id, dns_result_id, domain_name, validation_status, http_status_code, response_headers, page_title, extracted_content_snippet, found_keywords_from_sets, found_ad_hoc_keywords, content_hash, used_proxy_id, attempts, last_checked_at`,

  // ---- writes: keyword sets, proxies --------------------------------------------------------------
  keyword_set_insert: `INSERT INTO keyword_sets (id, name, description, keywords, is_enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, true, NOW(), NOW()) RETURNING id, name, description, keywords, is_enabled, created_at, updated_at`,
  keyword_rule_insert: `INSERT INTO keyword_rules (id, keyword_set_id, pattern, rule_type, is_case_sensitive, category, context_chars, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NOW(), NOW()) RETURNING id, keyword_set_id, pattern, rule_type, is_case_sensitive, category, context_chars, created_at, updated_at`,
  keyword_set_update: `UPDATE keyword_sets SET description = $2, is_enabled = $3, updated_at = NOW() WHERE id = $1 RETURNING id, description, is_enabled, updated_at`,
  keyword_rule_update: `UPDATE keyword_rules SET pattern = $2, category = $3, updated_at = NOW() WHERE id = $1 RETURNING id, pattern, category, updated_at, keyword_set_id`,
  keyword_set_delete: `DELETE FROM keyword_sets WHERE id = $1 RETURNING id`,
  proxy_record_health: `UPDATE proxies SET is_healthy = $2, last_status = $3, latency_ms = $4, last_checked_at = NOW(), updated_at = NOW() WHERE id = $1 RETURNING id, is_healthy, last_status, latency_ms, last_checked_at, updated_at`,

  // ---- writes: jobs, sessions, audit ------------------------------------------------------------
  job_insert: `INSERT INTO campaign_jobs (id, campaign_id, job_type, status, job_payload, attempts, max_attempts, scheduled_at, next_execution_at) VALUES ($1, $2, $3, $4, $5, 0, $6, NOW(), $7) RETURNING id, campaign_id, job_type, status, job_payload, attempts, max_attempts, scheduled_at, next_execution_at`,
  job_record_attempt: `UPDATE campaign_jobs SET status = $2, attempts = attempts + 1, last_error = $3, last_attempted_at = NOW(), locked_at = NULL, locked_by = NULL, updated_at = NOW() WHERE id = $1 RETURNING id, status, attempts, last_error, last_attempted_at, locked_at, locked_by, updated_at, campaign_id`,
  job_delete: `DELETE FROM campaign_jobs WHERE id = $1 RETURNING id`,
  session_touch: `UPDATE auth.sessions SET last_activity_at = NOW() WHERE id = $1 RETURNING id, last_activity_at`,
  audit_insert: `INSERT INTO audit_logs (id, timestamp, user_id, action, entity_type, entity_id, details, client_ip, user_agent) VALUES ($1, NOW(), $2, $3, $4, $5, $6, $7, $8) RETURNING id, timestamp, user_id, action, entity_type, entity_id, details, client_ip, user_agent`,
} as const;

export type StatementName = keyof typeof S;

/** Every statement the simulated service runs, as `{name, text}` (for PREPARE checks and index design). */
export const APP_STATEMENTS: { name: string; text: string }[] = Object.entries(S).map(([name, text]) => ({
  name,
  text,
}));

/**
 * What the simulator itself runs once at start to find rows to work on (not application SQL; kept
 * apart so index design does not optimise for it). Plain columns only, so it runs on legacy and v2.
 */
export const DISCOVERY = {
  users: `SELECT id FROM auth.users WHERE is_active = true ORDER BY id LIMIT $1`,
  campaigns: `SELECT c.id, c.campaign_type, c.status, c.user_id, c.total_items, c.processed_items, c.successful_items, c.failed_items, (p.campaign_id IS NOT NULL) AS has_params FROM campaigns c LEFT JOIN domain_generation_campaign_params p ON p.campaign_id = c.id ORDER BY c.id LIMIT $1`,
  sessions: `SELECT id FROM auth.sessions WHERE is_active = true ORDER BY id LIMIT $1`,
  domains: `SELECT id, domain_generation_campaign_id FROM generated_domains ORDER BY id LIMIT $1`,
  dnsResults: `SELECT id, dns_campaign_id, domain_name FROM dns_validation_results ORDER BY id LIMIT $1`,
  jobs: `SELECT id, campaign_id FROM campaign_jobs ORDER BY id LIMIT $1`,
  personas: `SELECT id FROM personas WHERE persona_type = 'dns' ORDER BY id LIMIT $1`,
  proxies: `SELECT id FROM proxies ORDER BY id LIMIT $1`,
  keywordSets: `SELECT id FROM keyword_sets ORDER BY id LIMIT $1`,
  keywordRules: `SELECT id, keyword_set_id FROM keyword_rules ORDER BY id LIMIT $1`,
} as const;
