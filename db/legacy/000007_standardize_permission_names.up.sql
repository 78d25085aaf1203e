-- 000007_standardize_permission_names
-- Renames permissions from the old dot notation (campaigns.create) to resource:action. On a
-- database built by this history no row matches (000002 already seeds resource:action names); the
-- statement exists for databases seeded by older DomainFlow builds.

UPDATE auth.permissions
SET name = resource || ':' || action
WHERE name = resource || '.' || action
  AND name IN (
    'campaigns.create', 'campaigns.read', 'campaigns.update', 'campaigns.delete', 'campaigns.execute',
    'personas.create', 'personas.read', 'personas.update', 'personas.delete',
    'proxies.create', 'proxies.read', 'proxies.update', 'proxies.delete',
    'system.admin', 'system.config', 'system.users', 'system.audit'
  );
