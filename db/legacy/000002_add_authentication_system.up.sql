-- 000002_add_authentication_system
-- The auth schema: users, sessions, roles and permissions (RBAC), password reset tokens, an
-- authentication audit log and rate limits, plus the seeded RBAC rows and the bootstrap admin.
-- auth.* timestamps are timestamp WITHOUT time zone defaulting to CURRENT_TIMESTAMP (legacy
-- convention, kept). auth.sessions.csrf_token exists until 000017 drops it.
-- Applies in one transaction.

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
    id                            uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    email                         varchar(255) NOT NULL UNIQUE,
    email_verified                boolean DEFAULT false,
    email_verification_token      varchar(255),
    email_verification_expires_at timestamp,
    password_hash                 varchar(255) NOT NULL,
    password_pepper_version       integer DEFAULT 1,
    first_name                    varchar(100) NOT NULL,
    last_name                     varchar(100) NOT NULL,
    avatar_url                    text,
    is_active                     boolean DEFAULT true,
    is_locked                     boolean DEFAULT false,
    failed_login_attempts         integer DEFAULT 0,
    locked_until                  timestamp,
    last_login_at                 timestamp,
    last_login_ip                 inet,
    password_changed_at           timestamp DEFAULT CURRENT_TIMESTAMP,
    must_change_password          boolean DEFAULT false,
    created_at                    timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at                    timestamp DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE auth.sessions (
    id               varchar(128) PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    ip_address       inet,
    user_agent       text,
    csrf_token       varchar(64) NOT NULL,
    is_active        boolean DEFAULT true,
    expires_at       timestamp NOT NULL,
    last_activity_at timestamp DEFAULT CURRENT_TIMESTAMP,
    created_at       timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_sessions_user_id ON auth.sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON auth.sessions (expires_at);
CREATE INDEX idx_sessions_active ON auth.sessions (is_active, expires_at);

CREATE TABLE auth.roles (
    id             uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name           varchar(50) NOT NULL UNIQUE,
    display_name   varchar(100) NOT NULL,
    description    text,
    is_system_role boolean DEFAULT false,
    created_at     timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at     timestamp DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE auth.permissions (
    id           uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name         varchar(100) NOT NULL UNIQUE,
    display_name varchar(150) NOT NULL,
    description  text,
    resource     varchar(50) NOT NULL,
    action       varchar(20) NOT NULL,
    created_at   timestamp DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (resource, action)
);

CREATE TABLE auth.user_roles (
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    role_id     uuid NOT NULL REFERENCES auth.roles (id) ON DELETE CASCADE,
    assigned_by uuid REFERENCES auth.users (id),
    assigned_at timestamp DEFAULT CURRENT_TIMESTAMP,
    expires_at  timestamp,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX idx_user_roles_user_id ON auth.user_roles (user_id);
CREATE INDEX idx_user_roles_role_id ON auth.user_roles (role_id);

CREATE TABLE auth.role_permissions (
    role_id       uuid NOT NULL REFERENCES auth.roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES auth.permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX idx_role_permissions_role_id ON auth.role_permissions (role_id);
CREATE INDEX idx_role_permissions_permission_id ON auth.role_permissions (permission_id);

CREATE TABLE auth.password_reset_tokens (
    id         uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    user_id    uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    token_hash varchar(255) NOT NULL,
    expires_at timestamp NOT NULL,
    used_at    timestamp,
    ip_address inet,
    user_agent text,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_password_reset_user_id ON auth.password_reset_tokens (user_id);
CREATE INDEX idx_password_reset_expires ON auth.password_reset_tokens (expires_at);

-- bigserial: creates auth.auth_audit_log_id_seq, owned by the column.
CREATE TABLE auth.auth_audit_log (
    id           bigserial PRIMARY KEY,
    user_id      uuid REFERENCES auth.users (id),
    session_id   varchar(128),
    event_type   varchar(50) NOT NULL,
    event_status varchar(20) NOT NULL,
    ip_address   inet,
    user_agent   text,
    details      jsonb,
    risk_score   integer DEFAULT 0,
    created_at   timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_auth_audit_user_id ON auth.auth_audit_log (user_id);
CREATE INDEX idx_auth_audit_event_type ON auth.auth_audit_log (event_type);
CREATE INDEX idx_auth_audit_created_at ON auth.auth_audit_log (created_at);
CREATE INDEX idx_auth_audit_risk_score ON auth.auth_audit_log (risk_score);

CREATE TABLE auth.rate_limits (
    id            bigserial PRIMARY KEY,
    identifier    varchar(255) NOT NULL,
    action        varchar(50) NOT NULL,
    attempts      integer DEFAULT 1,
    window_start  timestamp DEFAULT CURRENT_TIMESTAMP,
    blocked_until timestamp,
    UNIQUE (identifier, action)
);
CREATE INDEX idx_rate_limits_identifier ON auth.rate_limits (identifier);
CREATE INDEX idx_rate_limits_blocked_until ON auth.rate_limits (blocked_until);

CREATE TRIGGER set_timestamp_auth_users BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
CREATE TRIGGER set_timestamp_auth_roles BEFORE UPDATE ON auth.roles
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();

-- Seeded RBAC (legacy-schema.md §7): 5 roles, 17 resource:action permissions, 48 grants.
INSERT INTO auth.roles (name, display_name, description, is_system_role) VALUES
    ('super_admin',      'Super Administrator', 'Full system access with all permissions', true),
    ('admin',            'Administrator',       'Administrative access to most system functions', true),
    ('campaign_manager', 'Campaign Manager',    'Can create and manage campaigns', false),
    ('analyst',          'Analyst',             'Read-only access to campaigns and reports', false),
    ('user',             'User',                'Basic user access', false);

INSERT INTO auth.permissions (name, display_name, description, resource, action) VALUES
    ('campaigns:create',  'Create Campaigns',      'Create new campaigns',                   'campaigns', 'create'),
    ('campaigns:read',    'View Campaigns',        'View campaign details and results',      'campaigns', 'read'),
    ('campaigns:update',  'Edit Campaigns',        'Modify existing campaigns',              'campaigns', 'update'),
    ('campaigns:delete',  'Delete Campaigns',      'Remove campaigns from the system',       'campaigns', 'delete'),
    ('campaigns:execute', 'Execute Campaigns',     'Start and stop campaign execution',      'campaigns', 'execute'),
    ('personas:create',   'Create Personas',       'Create new personas',                    'personas',  'create'),
    ('personas:read',     'View Personas',         'View persona configurations',            'personas',  'read'),
    ('personas:update',   'Edit Personas',         'Modify existing personas',               'personas',  'update'),
    ('personas:delete',   'Delete Personas',       'Remove personas from the system',        'personas',  'delete'),
    ('proxies:create',    'Create Proxies',        'Add new proxy configurations',           'proxies',   'create'),
    ('proxies:read',      'View Proxies',          'View proxy configurations and status',   'proxies',   'read'),
    ('proxies:update',    'Edit Proxies',          'Modify existing proxy configurations',   'proxies',   'update'),
    ('proxies:delete',    'Delete Proxies',        'Remove proxy configurations',            'proxies',   'delete'),
    ('system:admin',      'System Administration', 'Full system administration access',      'system',    'admin'),
    ('system:config',     'System Configuration',  'Modify system configuration',            'system',    'config'),
    ('system:users',      'User Management',       'Manage user accounts and permissions',   'system',    'users'),
    ('system:audit',      'Audit Logs',            'View system audit logs',                 'system',    'audit');

-- super_admin 17, admin 16 (all but system:admin), campaign_manager 10, analyst 3, user 2 = 48
INSERT INTO auth.role_permissions (role_id, permission_id)
SELECT r.id, p.id
FROM auth.roles r
JOIN auth.permissions p ON CASE r.name
    WHEN 'super_admin' THEN true
    WHEN 'admin' THEN p.name <> 'system:admin'
    WHEN 'campaign_manager' THEN p.resource IN ('campaigns', 'personas', 'proxies')
                             AND p.action IN ('create', 'read', 'update', 'execute')
    WHEN 'analyst' THEN p.action = 'read'
    WHEN 'user' THEN p.resource IN ('campaigns', 'personas') AND p.action = 'read'
    ELSE false
END;

-- Bootstrap administrator; bcrypt cost-12 hash of the temporary password TempPassword123!
-- (must_change_password forces a change at first login).
INSERT INTO auth.users (id, email, password_hash, first_name, last_name, is_active, must_change_password)
VALUES ('00000000-0000-0000-0000-000000000001', 'admin@domainflow.local',
        '$2a$12$2omTCfloMXg0AqvgA7cUju3kEaaNckmVVxS/tkUl52bzhQXvwOV8q',
        'System', 'Administrator', true, true);

INSERT INTO auth.user_roles (user_id, role_id)
SELECT '00000000-0000-0000-0000-000000000001', id FROM auth.roles WHERE name = 'super_admin';
