/**
 * Rows legacy's migrations insert (legacy-schema.md §7): roles, permissions, role grants, the
 * admin user, its role, the default MFA policy. Install-only: a consolidation copies the live rows
 * instead. Plus the v2 bookkeeping: schema_version_info's 2.0 row and golang-migrate's
 * schema_migrations at (17, false), so DomainFlow's future 000018+ migrations apply on top.
 */

/** [name, display_name, description, is_system_role] */
const ROLES: [string, string, string, boolean][] = [
  ['super_admin', 'Super Administrator', 'Full system access with all permissions', true],
  ['admin', 'Administrator', 'Administrative access to most system functions', true],
  ['campaign_manager', 'Campaign Manager', 'Can create and manage campaigns', false],
  ['analyst', 'Analyst', 'Read-only access to campaigns and reports', false],
  ['user', 'User', 'Basic user access', false],
];

/** [name, display_name, description, resource, action] */
const PERMISSIONS: [string, string, string, string, string][] = [
  ['campaigns:create', 'Create Campaigns', 'Create new campaigns', 'campaigns', 'create'],
  ['campaigns:read', 'View Campaigns', 'View campaign details and results', 'campaigns', 'read'],
  ['campaigns:update', 'Edit Campaigns', 'Modify existing campaigns', 'campaigns', 'update'],
  ['campaigns:delete', 'Delete Campaigns', 'Remove campaigns from the system', 'campaigns', 'delete'],
  ['campaigns:execute', 'Execute Campaigns', 'Start and stop campaign execution', 'campaigns', 'execute'],
  ['personas:create', 'Create Personas', 'Create new personas', 'personas', 'create'],
  ['personas:read', 'View Personas', 'View persona configurations', 'personas', 'read'],
  ['personas:update', 'Edit Personas', 'Modify existing personas', 'personas', 'update'],
  ['personas:delete', 'Delete Personas', 'Remove personas from the system', 'personas', 'delete'],
  ['proxies:create', 'Create Proxies', 'Add new proxy configurations', 'proxies', 'create'],
  ['proxies:read', 'View Proxies', 'View proxy configurations and status', 'proxies', 'read'],
  ['proxies:update', 'Edit Proxies', 'Modify existing proxy configurations', 'proxies', 'update'],
  ['proxies:delete', 'Delete Proxies', 'Remove proxy configurations', 'proxies', 'delete'],
  ['system:admin', 'System Administration', 'Full system administration access', 'system', 'admin'],
  ['system:config', 'System Configuration', 'Modify system configuration', 'system', 'config'],
  ['system:users', 'User Management', 'Manage user accounts and permissions', 'system', 'users'],
  ['system:audit', 'Audit Logs', 'View system audit logs', 'system', 'audit'],
];

/** role → the predicate over permissions p that selects its grants (48 rows in all) */
const GRANTS: [string, string][] = [
  ['super_admin', 'true'],
  ['admin', "p.name <> 'system:admin'"],
  [
    'campaign_manager',
    "p.resource IN ('campaigns', 'personas', 'proxies') AND p.action IN ('create', 'read', 'update', 'execute')",
  ],
  ['analyst', "p.action = 'read'"],
  ['user', "p.name IN ('campaigns:read', 'personas:read')"],
];

export const ADMIN_USER_ID = '00000000-0000-0000-0000-000000000001';
/** bcrypt (cost 12) of the documented initial password TempPassword123!; must_change_password is set */
const ADMIN_PASSWORD_HASH = '$2a$12$2omTCfloMXg0AqvgA7cUju3kEaaNckmVVxS/tkUl52bzhQXvwOV8q';

const lit = (v: string | boolean) => (typeof v === 'boolean' ? String(v) : `'${v.replaceAll("'", "''")}'`);
const rows = (xs: (string | boolean)[][]) => xs.map((r) => `    (${r.map(lit).join(', ')})`).join(',\n');

export const SEED_SQL = `
INSERT INTO auth.roles (name, display_name, description, is_system_role) VALUES
${rows(ROLES)};

INSERT INTO auth.permissions (name, display_name, description, resource, action) VALUES
${rows(PERMISSIONS)};

${GRANTS.map(
  ([role, where]) => `INSERT INTO auth.role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM auth.roles r CROSS JOIN auth.permissions p WHERE r.name = '${role}' AND ${where};`,
).join('\n')}

INSERT INTO auth.users (id, email, password_hash, first_name, last_name, is_active, must_change_password) VALUES
    ('${ADMIN_USER_ID}', 'admin@domainflow.local', '${ADMIN_PASSWORD_HASH}', 'System', 'Administrator', true, true);

INSERT INTO auth.user_roles (user_id, role_id)
SELECT '${ADMIN_USER_ID}', id FROM auth.roles WHERE name = 'super_admin';

INSERT INTO public.mfa_policies (policy_name, description, require_mfa_for_admins, require_mfa_for_all_users,
                                 allowed_mfa_types, grace_period_days, min_backup_codes, backup_code_regeneration_days)
VALUES ('default', 'Default MFA policy for DomainFlow', true, false, ARRAY['totp', 'backup_code'], 7, 8, 365);
`.trim();

/** The 2.0 baseline row (v2-delta §6 values); also what the engine writes at cutover. */
export const SCHEMA_VERSION_ROW_SQL = `
INSERT INTO public.schema_version_info (version_number, version_name, baseline_date, migration_count, consolidation_completed, notes)
VALUES ('2.0', 'Consolidated Schema Baseline', now(), 17, true,
        'Consolidated schema of DomainFlow migrations 000001-000017 (dfc); future migrations start at 000018')
ON CONFLICT (version_number) DO UPDATE
   SET consolidation_completed = EXCLUDED.consolidation_completed, notes = EXCLUDED.notes;
`.trim();

/** golang-migrate's table, exactly as the migrator creates it, at version 17, clean. */
export const SCHEMA_MIGRATIONS_SQL = `
CREATE TABLE IF NOT EXISTS public.schema_migrations (version bigint NOT NULL, dirty boolean NOT NULL, CONSTRAINT schema_migrations_pkey PRIMARY KEY (version));
DELETE FROM public.schema_migrations;
INSERT INTO public.schema_migrations (version, dirty) VALUES (17, false);
`.trim();
