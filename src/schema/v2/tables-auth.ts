/**
 * auth.* tables: legacy 000002 + 000010 (MFA columns on users) + 000017 (session fingerprints),
 * carried column for column with legacy types. Upstream v2 changed mfa_secret_encrypted to bytea,
 * dropped mfa_recovery_codes_encrypted / mfa_enforced_at / mfa_setup_completed_at and stripped the
 * time zone from mfa_last_used_at (v2-delta §7.2): all silent data loss, so none of it here.
 * Timestamps stay `timestamp without time zone` (legacy convention for auth.*; changing them
 * would reinterpret every stored value in the session time zone).
 */
import { col, fk, idx, NN, setTimestamp, table } from './helpers.js';
import type { TableDef } from './model.js';

const TS = 'timestamp without time zone';
const TSTZ = 'timestamp with time zone';
const NOW = 'CURRENT_TIMESTAMP';

export const users: TableDef = table({
  schema: 'auth',
  name: 'users',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('email', 'character varying(255)', NN),
    col('email_verified', 'boolean', false, 'false'),
    col('email_verification_token', 'character varying(255)'),
    col('email_verification_expires_at', TS),
    col('password_hash', 'character varying(255)', NN),
    col('password_pepper_version', 'integer', false, '1'),
    col('first_name', 'character varying(100)', NN),
    col('last_name', 'character varying(100)', NN),
    col('avatar_url', 'text'),
    col('is_active', 'boolean', false, 'true'),
    col('is_locked', 'boolean', false, 'false'),
    col('failed_login_attempts', 'integer', false, '0'),
    col('locked_until', TS),
    col('last_login_at', TS),
    col('last_login_ip', 'inet'),
    col('password_changed_at', TS, false, NOW),
    col('must_change_password', 'boolean', false, 'false'),
    col('created_at', TS, false, NOW),
    col('updated_at', TS, false, NOW),
    col('mfa_enabled', 'boolean', false, 'false'),
    col('mfa_secret_encrypted', 'text'),
    col('mfa_recovery_codes_encrypted', 'text'),
    col('mfa_enforced_at', TSTZ),
    col('mfa_setup_completed_at', TSTZ),
    col('mfa_last_used_at', TSTZ),
  ],
  primaryKey: { name: 'users_pkey', columns: ['id'] },
  uniques: [{ name: 'users_email_key', columns: ['email'] }],
  indexes: [
    idx('idx_users_mfa_enabled', 'USING btree (mfa_enabled)'),
    // login looks users up by email; users_email_key already serves it, so no upstream
    // idx_users_email_active (a second index on the same key only costs writes)
    idx(
      'idx_users_verification_token',
      'USING btree (email_verification_token) WHERE (email_verification_token IS NOT NULL)',
    ),
  ],
  triggers: [setTimestamp('set_timestamp_auth_users')],
  columnComments: {
    mfa_enabled: 'Whether the user has MFA switched on',
    mfa_secret_encrypted: 'Encrypted TOTP secret (older scheme; mfa_devices supersedes it)',
    mfa_recovery_codes_encrypted: 'Encrypted recovery codes (older scheme; mfa_backup_codes supersedes it)',
    mfa_enforced_at: 'When MFA becomes mandatory for the user (end of the grace period)',
    mfa_setup_completed_at: 'When the user finished setting up MFA',
    mfa_last_used_at: 'When MFA was last used to authenticate',
  },
});

export const roles: TableDef = table({
  schema: 'auth',
  name: 'roles',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'character varying(50)', NN),
    col('display_name', 'character varying(100)', NN),
    col('description', 'text'),
    col('is_system_role', 'boolean', false, 'false'),
    col('created_at', TS, false, NOW),
    col('updated_at', TS, false, NOW),
  ],
  primaryKey: { name: 'roles_pkey', columns: ['id'] },
  // upstream v2's idx_roles_name duplicates roles_name_key: not repeated
  uniques: [{ name: 'roles_name_key', columns: ['name'] }],
  triggers: [setTimestamp('set_timestamp_auth_roles')],
});

export const permissions: TableDef = table({
  schema: 'auth',
  name: 'permissions',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('name', 'character varying(100)', NN),
    col('display_name', 'character varying(150)', NN),
    col('description', 'text'),
    col('resource', 'character varying(50)', NN),
    col('action', 'character varying(20)', NN),
    col('created_at', TS, false, NOW),
  ],
  primaryKey: { name: 'permissions_pkey', columns: ['id'] },
  // upstream v2's idx_permissions_name / _resource_action duplicate these two: not repeated
  uniques: [
    { name: 'permissions_name_key', columns: ['name'] },
    { name: 'permissions_resource_action_key', columns: ['resource', 'action'] },
  ],
});

export const userRoles: TableDef = table({
  schema: 'auth',
  name: 'user_roles',
  columns: [
    col('user_id', 'uuid', NN),
    col('role_id', 'uuid', NN),
    col('assigned_by', 'uuid'),
    col('assigned_at', TS, false, NOW),
    col('expires_at', TS),
  ],
  primaryKey: { name: 'user_roles_pkey', columns: ['user_id', 'role_id'] },
  foreignKeys: [
    fk('user_roles_assigned_by_fkey', 'assigned_by', 'auth', 'users'),
    fk('user_roles_role_id_fkey', 'role_id', 'auth', 'roles', 'CASCADE'),
    fk('user_roles_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE'),
  ],
  indexes: [
    idx('idx_user_roles_role_id', 'USING btree (role_id)'),
    idx('idx_user_roles_user_id', 'USING btree (user_id)'),
  ],
});

export const rolePermissions: TableDef = table({
  schema: 'auth',
  name: 'role_permissions',
  columns: [col('role_id', 'uuid', NN), col('permission_id', 'uuid', NN)],
  primaryKey: { name: 'role_permissions_pkey', columns: ['role_id', 'permission_id'] },
  foreignKeys: [
    fk('role_permissions_permission_id_fkey', 'permission_id', 'auth', 'permissions', 'CASCADE'),
    fk('role_permissions_role_id_fkey', 'role_id', 'auth', 'roles', 'CASCADE'),
  ],
  indexes: [
    idx('idx_role_permissions_permission_id', 'USING btree (permission_id)'),
    idx('idx_role_permissions_role_id', 'USING btree (role_id)'),
  ],
});

export const sessions: TableDef = table({
  schema: 'auth',
  name: 'sessions',
  columns: [
    col('id', 'character varying(128)', NN),
    col('user_id', 'uuid', NN),
    col('ip_address', 'inet'),
    col('user_agent', 'text'),
    col('is_active', 'boolean', false, 'true'),
    col('expires_at', TS, NN),
    col('last_activity_at', TS, false, NOW),
    col('created_at', TS, false, NOW),
    col('session_fingerprint', 'character varying(255)'),
    col('browser_fingerprint', 'text'),
    col('screen_resolution', 'character varying(20)'),
    col('user_agent_hash', 'character varying(64)'),
  ],
  primaryKey: { name: 'sessions_pkey', columns: ['id'] },
  foreignKeys: [fk('sessions_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE')],
  indexes: [
    idx('idx_sessions_active', 'USING btree (is_active, expires_at)'),
    idx('idx_sessions_expires_at', 'USING btree (expires_at)'),
    idx(
      'idx_sessions_fingerprint',
      'USING btree (session_fingerprint) WHERE (session_fingerprint IS NOT NULL)',
    ),
    idx('idx_sessions_ip_address', 'USING btree (ip_address) WHERE (ip_address IS NOT NULL)'),
    idx('idx_sessions_last_activity', 'USING btree (last_activity_at)'),
    idx('idx_sessions_user_agent_hash', 'USING btree (user_agent_hash) WHERE (user_agent_hash IS NOT NULL)'),
    idx('idx_sessions_user_id', 'USING btree (user_id)'),
    idx('idx_sessions_validation', 'USING btree (id, is_active, expires_at, user_id)'),
    // Upstream's idx_sessions_cleanup had `expires_at < NOW()` in its predicate: PostgreSQL rejects
    // a non-immutable predicate, which aborted the whole upstream file (v2-delta §7.9). Kept as
    // legacy errata 3 defines it (no time in the predicate).
    idx('idx_sessions_cleanup', 'USING btree (is_active, expires_at) WHERE (is_active = false)'),
  ],
  triggers: [
    {
      name: 'trigger_session_fingerprint',
      definition:
        'BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION auth.update_session_fingerprint()',
    },
  ],
  columnComments: {
    session_fingerprint: 'SHA-256 of client IP, user agent and screen resolution',
    browser_fingerprint: 'SHA-256 of user agent and screen resolution',
    screen_resolution: 'Client screen resolution, part of the fingerprints',
    user_agent_hash: 'SHA-256 of the user agent, for fast comparison',
  },
});

export const passwordResetTokens: TableDef = table({
  schema: 'auth',
  name: 'password_reset_tokens',
  columns: [
    col('id', 'uuid', NN, 'uuid_generate_v4()'),
    col('user_id', 'uuid', NN),
    col('token_hash', 'character varying(255)', NN),
    col('expires_at', TS, NN),
    col('used_at', TS),
    col('ip_address', 'inet'),
    col('user_agent', 'text'),
    col('created_at', TS, false, NOW),
  ],
  primaryKey: { name: 'password_reset_tokens_pkey', columns: ['id'] },
  foreignKeys: [fk('password_reset_tokens_user_id_fkey', 'user_id', 'auth', 'users', 'CASCADE')],
  indexes: [
    idx('idx_password_reset_expires', 'USING btree (expires_at)'),
    idx('idx_password_reset_user_id', 'USING btree (user_id)'),
  ],
});

export const authAuditLog: TableDef = table({
  schema: 'auth',
  name: 'auth_audit_log',
  columns: [
    { name: 'id', type: 'bigint', notNull: true, ownedSequence: 'auth_audit_log_id_seq' },
    col('user_id', 'uuid'),
    col('session_id', 'character varying(128)'),
    col('event_type', 'character varying(50)', NN),
    col('event_status', 'character varying(20)', NN),
    col('ip_address', 'inet'),
    col('user_agent', 'text'),
    col('details', 'jsonb'),
    col('risk_score', 'integer', false, '0'),
    col('created_at', TS, false, NOW),
    col('session_fingerprint', 'character varying(255)'),
    col('security_flags', 'jsonb', false, "'{}'::jsonb"),
  ],
  primaryKey: { name: 'auth_audit_log_pkey', columns: ['id'] },
  foreignKeys: [fk('auth_audit_log_user_id_fkey', 'user_id', 'auth', 'users')],
  indexes: [
    idx('idx_auth_audit_created_at', 'USING btree (created_at)'),
    idx('idx_auth_audit_event_type', 'USING btree (event_type)'),
    idx('idx_auth_audit_risk_score', 'USING btree (risk_score)'),
    idx(
      'idx_auth_audit_session_fingerprint',
      'USING btree (session_fingerprint) WHERE (session_fingerprint IS NOT NULL)',
    ),
    idx('idx_auth_audit_user_id', 'USING btree (user_id)'),
  ],
});

export const rateLimits: TableDef = table({
  schema: 'auth',
  name: 'rate_limits',
  columns: [
    { name: 'id', type: 'bigint', notNull: true, ownedSequence: 'rate_limits_id_seq' },
    col('identifier', 'character varying(255)', NN),
    col('action', 'character varying(50)', NN),
    col('attempts', 'integer', false, '1'),
    col('window_start', TS, false, NOW),
    col('blocked_until', TS),
  ],
  primaryKey: { name: 'rate_limits_pkey', columns: ['id'] },
  uniques: [{ name: 'rate_limits_identifier_action_key', columns: ['identifier', 'action'] }],
  indexes: [
    idx('idx_rate_limits_blocked_until', 'USING btree (blocked_until)'),
    idx('idx_rate_limits_identifier', 'USING btree (identifier)'),
  ],
});

export const AUTH_TABLES: TableDef[] = [
  users,
  roles,
  permissions,
  userRoles,
  rolePermissions,
  sessions,
  passwordResetTokens,
  authAuditLog,
  rateLimits,
];
