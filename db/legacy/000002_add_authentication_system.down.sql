-- 000002_add_authentication_system (down)
-- Drops the auth schema with everything 000002 created in it (tables, their sequences, seeded rows).
-- RESTRICT (the default): if anything outside 000002 still depends on auth, this fails instead of
-- silently dropping it.

DROP TABLE auth.rate_limits;
DROP TABLE auth.auth_audit_log;
DROP TABLE auth.password_reset_tokens;
DROP TABLE auth.role_permissions;
DROP TABLE auth.user_roles;
DROP TABLE auth.permissions;
DROP TABLE auth.roles;
DROP TABLE auth.sessions;
DROP TABLE auth.users;
DROP SCHEMA auth;
