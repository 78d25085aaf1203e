/**
 * Personas, proxies, keyword sets/rules, MFA (000010, with errata 1) and encryption (000012,
 * 000015) tables. Upstream v2 dropped six of these tables and the encryption/MFA/keyword columns
 * (v2-delta §7.2, silent data loss) and RLS on proxies (§7.4): everything is carried here.
 */
import { col, fk, idx, NN, setTimestamp, table, v2Only } from './helpers.js';
import type { TableDef } from './model.js';

const TSTZ = 'timestamp with time zone';

export const personas: TableDef = table({
  schema: 'public',
  name: 'personas',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'text', NN),
    col('description', 'text'),
    col('persona_type', 'text', NN),
    col('config_details', 'jsonb', NN),
    col('is_enabled', 'boolean', NN, 'true'),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('config_details_encrypted', 'bytea'),
    col('encryption_key_version', 'integer', false, '1'),
  ],
  primaryKey: { name: 'personas_pkey', columns: ['id'] },
  uniques: [{ name: 'uq_personas_name_type', columns: ['name', 'persona_type'] }],
  checks: [
    {
      name: 'personas_persona_type_check',
      expression: "persona_type = ANY (ARRAY['dns'::text, 'http'::text])",
    },
  ],
  indexes: [
    idx('idx_personas_encrypted', 'USING btree (id) WHERE (config_details_encrypted IS NOT NULL)'),
    idx('idx_personas_is_enabled', 'USING btree (is_enabled)'),
    idx('idx_personas_type', 'USING btree (persona_type)'),
    idx('idx_personas_type_enabled', 'USING btree (persona_type, is_enabled)'),
  ],
  triggers: [
    setTimestamp('set_timestamp_personas'),
    // errata 2: the per-type checks are plain functions, so this works (legacy model C failed
    // every persona write; upstream v2 dropped validation altogether)
    {
      name: 'validate_persona_config_trigger',
      definition:
        'BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION public.validate_persona_config()',
      comment: 'Enforces the persona config_details schema',
    },
  ],
});

export const proxies: TableDef = table({
  schema: 'public',
  name: 'proxies',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'text', NN),
    col('description', 'text'),
    col('address', 'text', NN),
    col('protocol', 'text'),
    col('username', 'text'),
    col('password_hash', 'text'),
    col('host', 'text'),
    col('port', 'integer'),
    col('is_enabled', 'boolean', NN, 'true'),
    col('is_healthy', 'boolean', NN, 'true'),
    col('last_status', 'text'),
    col('last_checked_at', TSTZ),
    col('latency_ms', 'integer'),
    col('city', 'text'),
    col('country_code', 'text'),
    col('provider', 'text'),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('password_encrypted', 'bytea'),
    col('encryption_key_version', 'integer', false, '1'),
  ],
  primaryKey: { name: 'proxies_pkey', columns: ['id'] },
  uniques: [
    { name: 'proxies_address_key', columns: ['address'] },
    { name: 'proxies_name_key', columns: ['name'] },
  ],
  indexes: [
    idx('idx_proxies_encrypted', 'USING btree (id) WHERE (password_encrypted IS NOT NULL)'),
    idx('idx_proxies_healthy_checked', 'USING btree (is_healthy, last_checked_at DESC)'),
    idx('idx_proxies_is_enabled', 'USING btree (is_enabled)'),
  ],
  triggers: [setTimestamp('set_timestamp_proxies')],
  rowLevelSecurity: {
    enabled: true,
    policies: [
      {
        name: 'proxy_access_policy',
        definition: "FOR ALL USING ((current_setting('app.current_user_id'::text, true) IS NOT NULL))",
      },
    ],
  },
  columnComments: { password_encrypted: 'Encrypted proxy password; replaces the plaintext password_hash' },
});

export const keywordSets: TableDef = table({
  schema: 'public',
  name: 'keyword_sets',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'text', NN),
    col('description', 'text'),
    col('keywords', 'jsonb', NN, "'[]'::jsonb"),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('is_enabled', 'boolean', NN, 'true'),
  ],
  primaryKey: { name: 'keyword_sets_pkey', columns: ['id'] },
  uniques: [{ name: 'keyword_sets_name_key', columns: ['name'] }],
  triggers: [setTimestamp('set_timestamp_keyword_sets')],
});

export const keywordRules: TableDef = table({
  schema: 'public',
  name: 'keyword_rules',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('keyword_set_id', 'uuid', NN),
    col('pattern', 'text', NN),
    col('rule_type', 'text', NN),
    // upstream v2 dropped these three, which the Go store reads and writes (v2-delta §3, §7.12)
    col('is_case_sensitive', 'boolean', NN, 'false'),
    col('category', 'text'),
    col('context_chars', 'integer', NN, '0'),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'keyword_rules_pkey', columns: ['id'] },
  checks: [
    { name: 'keyword_rules_context_chars_check', expression: 'context_chars >= 0' },
    {
      name: 'keyword_rules_rule_type_check',
      expression: "rule_type = ANY (ARRAY['string'::text, 'regex'::text])",
    },
  ],
  foreignKeys: [
    fk('keyword_rules_keyword_set_id_fkey', 'keyword_set_id', 'public', 'keyword_sets', 'CASCADE'),
  ],
  indexes: [idx('idx_keyword_rules_keyword_set_id', 'USING btree (keyword_set_id)')],
  triggers: [setTimestamp('set_timestamp_keyword_rules')],
  comment: 'Keyword rules (string or regex) that make up a keyword set',
});

export const mfaBackupCodes: TableDef = table({
  schema: 'public',
  name: 'mfa_backup_codes',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('user_id', 'uuid', NN),
    col('code_hash', 'text', NN),
    col('created_at', TSTZ, NN, 'now()'),
    col('used_at', TSTZ),
    col('used_ip_address', 'inet'),
    col('is_active', 'boolean', false, 'true'),
  ],
  primaryKey: { name: 'mfa_backup_codes_pkey', columns: ['id'] },
  // both legacy FKs kept under their names (000010 declared the same reference twice)
  foreignKeys: [
    fk('fk_user', 'user_id', 'auth', 'users', 'CASCADE'),
    fk('mfa_backup_codes_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE'),
  ],
  indexes: [
    idx('idx_mfa_backup_codes_active', 'USING btree (user_id, is_active) WHERE (is_active = true)'),
    idx('idx_mfa_backup_codes_user_id', 'USING btree (user_id)'),
  ],
  comment: 'Hashed one-time MFA backup codes',
});

export const mfaDevices: TableDef = table({
  schema: 'public',
  name: 'mfa_devices',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('user_id', 'uuid', NN),
    col('device_name', 'text', NN),
    col('device_type', 'text', NN),
    col('device_identifier', 'text'),
    col('secret_encrypted', 'text'),
    col('public_key_credential', 'text'),
    col('is_primary', 'boolean', false, 'false'),
    col('is_active', 'boolean', false, 'true'),
    col('verified_at', TSTZ),
    col('last_used_at', TSTZ),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'mfa_devices_pkey', columns: ['id'] },
  checks: [
    {
      name: 'mfa_devices_device_type_check',
      expression: "device_type = ANY (ARRAY['totp'::text, 'webauthn'::text, 'sms'::text, 'email'::text])",
    },
  ],
  foreignKeys: [
    fk('fk_user', 'user_id', 'auth', 'users', 'CASCADE'),
    fk('mfa_devices_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE'),
  ],
  indexes: [
    // errata 1: one primary device per user, as a partial unique index (a table-level UNIQUE
    // with WHERE is not valid SQL, which is what kept 000010 from applying upstream)
    idx('unique_primary_per_user', 'USING btree (user_id) WHERE (is_primary = true)', true),
    idx('idx_mfa_devices_user_id', 'USING btree (user_id)'),
    idx('idx_mfa_devices_active', 'USING btree (user_id, is_active) WHERE (is_active = true)'),
    idx('idx_mfa_devices_type', 'USING btree (device_type)'),
  ],
  triggers: [setTimestamp('update_mfa_devices_updated_at', 'public.update_mfa_updated_at()')],
  comment: 'Registered MFA devices (TOTP, WebAuthn, SMS, e-mail); at most one primary per user',
  conversionIssues: [
    {
      id: 'mfa_devices.is_primary.duplicate',
      predicate:
        's.is_primary AND EXISTS (SELECT 1 FROM "public"."mfa_devices" o WHERE o.user_id = s.user_id AND o.is_primary AND o.id < s.id)',
      reason: 'more than one primary MFA device for a user (v2 enforces unique_primary_per_user)',
      fix: 'UPDATE mfa_devices SET is_primary = false on all but one primary device of each user',
      quarantine: { action: 'exclude_row' },
    },
  ],
});

export const mfaVerificationAttempts: TableDef = table({
  schema: 'public',
  name: 'mfa_verification_attempts',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('user_id', 'uuid', NN),
    col('device_id', 'uuid'),
    col('attempt_type', 'text', NN),
    col('success', 'boolean', NN),
    col('failure_reason', 'text'),
    col('ip_address', 'inet'),
    col('user_agent', 'text'),
    col('attempted_at', TSTZ, NN, 'now()'),
  ],
  primaryKey: { name: 'mfa_verification_attempts_pkey', columns: ['id'] },
  checks: [
    {
      name: 'mfa_verification_attempts_attempt_type_check',
      expression:
        "attempt_type = ANY (ARRAY['totp'::text, 'backup_code'::text, 'webauthn'::text, 'sms'::text, 'email'::text])",
    },
  ],
  foreignKeys: [
    fk('fk_user', 'user_id', 'auth', 'users', 'CASCADE'),
    fk('mfa_verification_attempts_device_id_fkey', 'device_id', 'public', 'mfa_devices', 'SET NULL'),
    fk('mfa_verification_attempts_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE'),
  ],
  indexes: [
    idx('idx_mfa_verification_attempts_user_id', 'USING btree (user_id)'),
    idx('idx_mfa_verification_attempts_timestamp', 'USING btree (attempted_at)'),
    idx('idx_mfa_verification_attempts_success', 'USING btree (user_id, success, attempted_at)'),
  ],
  comment: 'Every MFA verification attempt, for audit and rate limiting',
});

export const mfaPolicies: TableDef = table({
  schema: 'public',
  name: 'mfa_policies',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('policy_name', 'text', NN),
    col('description', 'text'),
    col('require_mfa_for_admins', 'boolean', false, 'true'),
    col('require_mfa_for_all_users', 'boolean', false, 'false'),
    col('allowed_mfa_types', 'text[]', false, "ARRAY['totp'::text, 'backup_code'::text]"),
    col('grace_period_days', 'integer', false, '7'),
    col('min_backup_codes', 'integer', false, '8'),
    col('backup_code_regeneration_days', 'integer', false, '365'),
    col('is_active', 'boolean', false, 'true'),
    col('created_at', TSTZ, NN, 'now()'),
    col('updated_at', TSTZ, NN, 'now()'),
    col('created_by', 'uuid'),
    col('updated_by', 'uuid'),
  ],
  primaryKey: { name: 'mfa_policies_pkey', columns: ['id'] },
  uniques: [{ name: 'mfa_policies_policy_name_key', columns: ['policy_name'] }],
  foreignKeys: [
    fk('mfa_policies_created_by_fkey', 'created_by', 'auth', 'users', 'SET NULL'),
    fk('mfa_policies_updated_by_fkey', 'updated_by', 'auth', 'users', 'SET NULL'),
  ],
  triggers: [setTimestamp('update_mfa_policies_updated_at', 'public.update_mfa_updated_at()')],
  comment: 'Organisation-wide MFA requirements',
});

/*
 * encrypted_api_keys.user_id, encrypted_configs.created_by/updated_by, encryption_audit_log.user_id
 * and encryption_key_rotations.rotated_by stay text: they record service accounts and operators
 * as well as users (rotate_encryption_keys writes current_user), and a uuid type with a foreign
 * key would reject or null those rows for no gain.
 */
export const encryptedApiKeys: TableDef = table({
  schema: 'public',
  name: 'encrypted_api_keys',
  columns: [
    col('id', 'uuid', NN, 'gen_random_uuid()'),
    col('user_id', 'text', NN),
    col('key_name', 'text', NN),
    col('encrypted_key', 'bytea', NN),
    col('key_hint', 'text'),
    col('permissions', 'jsonb', false, "'{}'::jsonb"),
    col('expires_at', TSTZ),
    col('last_used_at', TSTZ),
    col('created_at', TSTZ, false, 'now()'),
    col('updated_at', TSTZ, false, 'now()'),
  ],
  primaryKey: { name: 'encrypted_api_keys_pkey', columns: ['id'] },
  uniques: [{ name: 'unique_user_key_name', columns: ['user_id', 'key_name'] }],
  indexes: [
    idx('idx_encrypted_api_keys_expires_at', 'USING btree (expires_at) WHERE (expires_at IS NOT NULL)'),
    idx('idx_encrypted_api_keys_user_id', 'USING btree (user_id)'),
  ],
  comment: 'API keys stored encrypted at field level',
});

export const encryptedConfigs: TableDef = table({
  schema: 'public',
  name: 'encrypted_configs',
  columns: [
    col('id', 'uuid', NN, 'gen_random_uuid()'),
    col('config_key', 'text', NN),
    col('encrypted_value', 'bytea', NN),
    col('config_type', 'text', NN),
    col('description', 'text'),
    col('created_at', TSTZ, false, 'now()'),
    col('updated_at', TSTZ, false, 'now()'),
    col('created_by', 'text'),
    col('updated_by', 'text'),
  ],
  primaryKey: { name: 'encrypted_configs_pkey', columns: ['id'] },
  uniques: [{ name: 'encrypted_configs_config_key_key', columns: ['config_key'] }],
  checks: [
    {
      name: 'encrypted_configs_config_type_check',
      expression:
        "config_type = ANY (ARRAY['api_credential'::text, 'webhook_secret'::text, 'integration_token'::text, 'other'::text])",
    },
  ],
  triggers: [
    setTimestamp('update_encrypted_configs_timestamp_trigger', 'public.update_encrypted_configs_timestamp()'),
  ],
  comment: 'Sensitive configuration values stored encrypted',
});

export const encryptionAuditLog: TableDef = table({
  schema: 'public',
  name: 'encryption_audit_log',
  columns: [
    col('id', 'uuid', NN, 'gen_random_uuid()'),
    col('timestamp', TSTZ, false, 'now()'),
    col('user_id', 'text'),
    col('action', 'text', NN),
    col('resource_type', 'text', NN),
    col('resource_id', 'text'),
    col('success', 'boolean', NN),
    col('error_message', 'text'),
    col('ip_address', 'inet'),
    col('user_agent', 'text'),
  ],
  primaryKey: { name: 'encryption_audit_log_pkey', columns: ['id'] },
  checks: [
    {
      name: 'encryption_audit_log_action_check',
      expression:
        "action = ANY (ARRAY['encrypt'::text, 'decrypt'::text, 'rotate_key'::text, 'access_denied'::text])",
    },
  ],
  indexes: [
    idx('idx_encryption_audit_log_resource', 'USING btree (resource_type, resource_id, "timestamp" DESC)'),
    idx('idx_encryption_audit_log_timestamp', 'USING btree ("timestamp" DESC)'),
    idx('idx_encryption_audit_log_user_id', 'USING btree (user_id, "timestamp" DESC)'),
  ],
  comment: 'Audit trail of encryption and decryption operations',
});

export const encryptionKeyRotations: TableDef = table({
  schema: 'public',
  name: 'encryption_key_rotations',
  columns: [
    col('id', 'uuid', NN, 'gen_random_uuid()'),
    // legacy's only public timestamp without time zone; kept (changing it reinterprets values)
    col('rotated_at', 'timestamp without time zone', NN, 'CURRENT_TIMESTAMP'),
    col('rotated_by', 'text', NN),
    col('key_version', 'integer', NN),
    col('tables_affected', 'text[]', NN),
    col('records_updated', 'integer', NN),
    col('status', 'text', NN),
    col('error_message', 'text'),
  ],
  primaryKey: { name: 'encryption_key_rotations_pkey', columns: ['id'] },
  checks: [
    {
      name: 'encryption_key_rotations_status_check',
      expression: "status = ANY (ARRAY['started'::text, 'completed'::text, 'failed'::text])",
    },
  ],
  rowLevelSecurity: {
    enabled: true,
    policies: [
      {
        name: 'encryption_audit_policy',
        definition:
          "FOR SELECT USING ((current_setting('app.current_user_role'::text, true) = 'admin'::text))",
      },
    ],
  },
});

export const OTHER_TABLES: TableDef[] = [
  personas,
  proxies,
  keywordSets,
  keywordRules,
  mfaBackupCodes,
  mfaDevices,
  mfaVerificationAttempts,
  mfaPolicies,
  encryptedApiKeys,
  encryptedConfigs,
  encryptionAuditLog,
  encryptionKeyRotations,
];

/**
 * schema_version_info (v2-delta §6): new in v2, no legacy source. Install inserts the 2.0 row;
 * the engine inserts it at cutover.
 */
export const schemaVersionInfo: TableDef = table({
  schema: 'public',
  name: 'schema_version_info',
  columns: [
    col('version_number', 'text', NN),
    col('version_name', 'text', NN),
    col('baseline_date', TSTZ, NN),
    col('migration_count', 'integer', NN),
    col('consolidation_completed', 'boolean', false, 'false'),
    col('performance_improvement_percentage', 'numeric(5,2)'),
    col('notes', 'text'),
    col('created_at', TSTZ, false, 'now()'),
  ],
  primaryKey: { name: 'schema_version_info_pkey', columns: ['version_number'] },
  comment: 'Schema version baseline: 2.0 = the consolidated schema of legacy migrations 000001-000017',
  mapping: {
    version_number: v2Only(),
    version_name: v2Only(),
    baseline_date: v2Only(),
    migration_count: v2Only(),
    consolidation_completed: v2Only(),
    performance_improvement_percentage: v2Only(),
    notes: v2Only(),
    created_at: v2Only(),
  },
});
