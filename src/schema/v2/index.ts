/**
 * Schema v2 as data: `V2` is what `dfc install` renders and what the consolidation engine builds
 * in shadow schemas. See model.ts for the contract and render.ts for the SQL it produces.
 */
import { FUNCTIONS_SQL } from './functions.js';
import type { SchemaMap, TableDef, V2Definition } from './model.js';
import { AUTH_TABLES } from './tables-auth.js';
import { CAMPAIGN_TABLES } from './tables-campaigns.js';
import { OTHER_TABLES, schemaVersionInfo } from './tables-other.js';
import { RESULT_TABLES } from './tables-results.js';
import { viewsSql } from './views.js';

const PRELUDE = `
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;
CREATE SCHEMA IF NOT EXISTS auth;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'domainflow') THEN
        CREATE ROLE domainflow NOLOGIN;
    END IF;
END
$$;
`.trim();

/** legacy 000010's grants (errata 1 includes the two MFA tables model C lost) */
const GRANTED_TABLES = ['mfa_backup_codes', 'mfa_devices', 'mfa_verification_attempts', 'mfa_policies'];

function epilogue(s: SchemaMap): string {
  return GRANTED_TABLES.map(
    (t) => `GRANT SELECT, INSERT, UPDATE, DELETE ON ${s.public}."${t}" TO domainflow;`,
  ).join('\n');
}

/**
 * Tables in creation order. Foreign keys are added after all tables exist, so the order only
 * matters for readability: auth first, then campaigns and their children, results, the rest.
 */
export const V2_TABLES: TableDef[] = [...AUTH_TABLES, ...CAMPAIGN_TABLES, ...OTHER_TABLES, ...RESULT_TABLES];

export const V2: V2Definition = {
  prelude: PRELUDE,
  functions: FUNCTIONS_SQL,
  tables: V2_TABLES,
  newTables: [schemaVersionInfo],
  views: viewsSql,
  epilogue,
};

export { ADMIN_USER_ID, SCHEMA_MIGRATIONS_SQL, SCHEMA_VERSION_ROW_SQL, SEED_SQL } from './seed.js';
