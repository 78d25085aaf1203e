/**
 * Every check `dfc validate` runs, as SQL text — the one place they are written. Two runners read
 * this list: validateDatabase() (TypeScript, in a READ ONLY transaction, installs nothing) and the
 * plpgsql function consolidation.validate_current_schema() rendered from it (render.ts), so psql
 * users and the CLI get the same answer by construction, not by keeping two copies in step.
 *
 * Each check's `sql` returns one row with one jsonb column `r` shaped
 * `{facts?: {...}, problems?: Problem[], warnings?: Warning[]}`. Fact keys are unique per check.
 * A problem blocks consolidation; a warning does not. ASSEMBLE_SQL turns the accumulated pieces
 * into the report (the guide's fields first).
 */
import { V2 } from '../schema/v2/index.js';
import type { ConversionIssue, TableDef } from '../schema/v2/model.js';
import { quoteIdent, quoteLiteral } from '../sql/sql.js';

export interface ValidationCheck {
  /** stable id; conversion checks use the ConversionIssue id */
  id: string;
  /** relations (`schema.name`) that must exist, else the check is skipped */
  requires: string[];
  /** run only when the migration state is clean at 17 (legacy complete), see GATE_SQL */
  needsCompleteLegacy: boolean;
  sql: string;
}

/** The legacy history's last version; consolidation starts from exactly here. */
export const EXPECTED_MIGRATION_VERSION = 17;

/** A SQL string literal (for shipped constants only). */
const lit = quoteLiteral;
const litArray = (xs: readonly string[]) => `ARRAY[${xs.map(lit).join(', ')}]::text[]`;

/**
 * `schema.name` exists, read from the catalog: unlike to_regclass() it does not fail with
 * "permission denied for schema" when the role lacks USAGE (validate must still report that).
 */
export const relExistsSql = (qualified: string) => {
  const [schema, name] = qualified.split('.');
  return `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${lit(schema!)} AND c.relname = ${lit(name!)})`;
};

/** `schema.name` of every DomainFlow table the engine reads: the v2 tables' legacy sources + golang-migrate's. */
export function legacyTableNames(def = V2): string[] {
  const names = new Set(def.tables.map((t) => `${t.legacy.schema}.${t.legacy.name}`));
  names.add('public.schema_migrations');
  return [...names].sort();
}

/** Views that belong to DomainFlow itself (legacy-schema.md §4); any other dependent view is foreign. */
export const DOMAINFLOW_VIEWS = ['public.campaign_statistics', 'public.proxies_decrypted'];

/** Triggers the legacy history installs (table → trigger); anything else on those tables is foreign. */
export const DOMAINFLOW_TRIGGERS = [
  'auth.roles.set_timestamp_auth_roles',
  'auth.sessions.trigger_session_fingerprint',
  'auth.users.set_timestamp_auth_users',
  'public.campaigns.refresh_campaign_statistics_on_update',
  'public.campaigns.set_timestamp_campaigns',
  'public.campaigns.validate_campaign_metadata_trigger',
  'public.campaigns.validate_campaign_status_transition_trigger',
  'public.encrypted_configs.update_encrypted_configs_timestamp_trigger',
  'public.keyword_rules.set_timestamp_keyword_rules',
  'public.keyword_sets.set_timestamp_keyword_sets',
  'public.mfa_devices.update_mfa_devices_updated_at',
  'public.mfa_policies.update_mfa_policies_updated_at',
  'public.personas.set_timestamp_personas',
  'public.personas.validate_persona_config_trigger',
  'public.proxies.set_timestamp_proxies',
];

/** Our own schemas; their presence before bookkeeping is installed means other tooling owns them. */
const BOOKKEEPING_SCHEMAS = ['monitoring', 'safety', 'benchmarks'];

/** Shadow copies need about the data's size again, plus capture log and WAL headroom. */
export const SHADOW_SPACE_FACTOR = 1.5;

/** One problem object in SQL. */
const problem = (code: string, category: string, reason: string, fix: string) =>
  `jsonb_build_object('code', ${lit(code)}, 'category', ${lit(category)}, 'reason', ${reason}, 'fix', ${fix})`;

/** `jsonb_agg` over the non-NULL elements, `[]` when none. */
const arrayOf = (elements: string[]) =>
  `(SELECT coalesce(jsonb_agg(x), '[]') FROM (VALUES ${elements.map((e) => `(${e})`).join(', ')}) v(x) WHERE x IS NOT NULL)`;

const MIGRATION_ABSENT: ValidationCheck = {
  id: 'migration_absent',
  requires: [],
  needsCompleteLegacy: false,
  sql: `SELECT CASE WHEN NOT ${relExistsSql('public.schema_migrations')} THEN jsonb_build_object(
  'facts', jsonb_build_object('migration', jsonb_build_object('present', false, 'expected_version', ${EXPECTED_MIGRATION_VERSION})),
  'problems', jsonb_build_array(${problem(
    'not_domainflow',
    'migration',
    lit(
      'there is no public.schema_migrations table: this is not a DomainFlow database, or its migrations never ran',
    ),
    lit(
      'point --database-url (or DATABASE_URL) at the DomainFlow database; a new database gets v2 directly with `dfc install`',
    ),
  )}))
  ELSE '{}'::jsonb END AS r`,
};

const MIGRATION_STATE: ValidationCheck = {
  id: 'migration_state',
  requires: ['public.schema_migrations'],
  needsCompleteLegacy: false,
  sql: `WITH m AS (
  SELECT (SELECT version FROM public.schema_migrations ORDER BY version DESC LIMIT 1) AS version,
         (SELECT dirty FROM public.schema_migrations ORDER BY version DESC LIMIT 1) AS dirty
)
SELECT jsonb_build_object(
  'facts', jsonb_build_object('migration', jsonb_build_object('present', true, 'version', m.version,
           'dirty', coalesce(m.dirty, false), 'expected_version', ${EXPECTED_MIGRATION_VERSION})),
  'problems', CASE
    WHEN m.dirty THEN jsonb_build_array(${problem(
      'migration_dirty',
      'migration',
      `format('migration %s failed part-way: schema_migrations is at version %s and dirty', m.version, m.version)`,
      `format('repair by hand what migration %s left half-done (compare with db/legacy/%s_*.up.sql): either finish it and run dfc migrate force %s, or undo it and force the previous version; then dfc migrate up --legacy', m.version, lpad(m.version::text, 6, '0'), m.version)`,
    )})
    WHEN m.version IS NULL OR m.version < ${EXPECTED_MIGRATION_VERSION} THEN jsonb_build_array(${problem(
      'migration_behind',
      'migration',
      `format('the database is at migration %s; consolidation needs all of 000001-0000${EXPECTED_MIGRATION_VERSION} applied', coalesce(lpad(m.version::text, 6, '0'), 'none'))`,
      lit('apply the rest of the legacy history with `dfc migrate up --legacy`, then validate again'),
    )})
    WHEN m.version > ${EXPECTED_MIGRATION_VERSION} THEN jsonb_build_array(${problem(
      'migration_ahead',
      'migration',
      `format('the database is at migration %s, past 0000${EXPECTED_MIGRATION_VERSION}: it has migrations dfc does not know', m.version)`,
      lit(
        'dfc consolidates a database at exactly 000017; a database already on v2 needs nothing, anything else needs its extra migrations reviewed first',
      ),
    )})
    ELSE '[]'::jsonb END)
FROM m`,
};

const ALREADY_CONSOLIDATED: ValidationCheck = {
  id: 'already_consolidated',
  requires: ['public.schema_version_info'],
  needsCompleteLegacy: false,
  sql: `WITH v AS (SELECT EXISTS (SELECT 1 FROM public.schema_version_info WHERE consolidation_completed) AS done)
SELECT jsonb_build_object('facts', jsonb_build_object('already_consolidated', v.done), 'problems', CASE WHEN v.done THEN jsonb_build_array(${problem(
    'already_consolidated',
    'migration',
    lit('schema_version_info records a completed consolidation: this database is already on v2'),
    lit('nothing to consolidate; future changes go in as 000018+ migrations'),
  )}) ELSE '[]'::jsonb END) AS r
FROM v`,
};

const EXTENSIONS: ValidationCheck = {
  id: 'extensions',
  requires: [],
  needsCompleteLegacy: false,
  sql: `WITH req(name) AS (VALUES ('uuid-ossp'), ('pgcrypto'), ('pg_stat_statements')),
st AS (
  SELECT req.name, e.extversion AS installed, a.default_version AS available
    FROM req LEFT JOIN pg_extension e ON e.extname = req.name
             LEFT JOIN pg_available_extensions a ON a.name = req.name
),
-- pg_settings, not current_setting(): a role without pg_read_all_settings gets NULL (unknown), not an error
pre AS (SELECT 'pg_stat_statements' = ANY (string_to_array(replace((SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'), ' ', ''), ',')) AS ok)
SELECT jsonb_build_object(
  'facts', jsonb_build_object('extensions', (SELECT jsonb_object_agg(name, jsonb_build_object('installed', installed, 'available', available)) FROM st)
                              || jsonb_build_object('pg_stat_statements_preloaded', (SELECT ok FROM pre))),
  'problems', (SELECT coalesce(jsonb_agg(${problem(
    'extension_missing',
    'extension',
    `format('required extension %s is not installed in this database', name)`,
    `CASE WHEN available IS NULL THEN format('install the PostgreSQL contrib package on the server, then run CREATE EXTENSION IF NOT EXISTS %I', name) ELSE format('CREATE EXTENSION IF NOT EXISTS %I (as a role allowed to)', name) END`,
  )} ORDER BY name), '[]') FROM st WHERE installed IS NULL AND name <> 'pg_stat_statements'),
  'warnings', ${arrayOf([
    `CASE WHEN (SELECT installed FROM st WHERE name = 'pg_stat_statements') IS NULL THEN jsonb_build_object('code', 'pg_stat_statements_missing', 'reason', 'pg_stat_statements is not installed: query timings before/after cannot be compared', 'fix', 'CREATE EXTENSION pg_stat_statements (the library must also be preloaded)') END`,
    `CASE WHEN (SELECT ok FROM pre) IS NULL THEN jsonb_build_object('code', 'pg_stat_statements_preload_unknown', 'reason', 'this role cannot read shared_preload_libraries, so whether pg_stat_statements is preloaded is unknown', 'fix', 'GRANT pg_read_all_settings to the role, or check postgresql.conf (optional: only monitoring needs it)') END`,
    `CASE WHEN NOT (SELECT ok FROM pre) THEN jsonb_build_object('code', 'pg_stat_statements_not_preloaded', 'reason', 'pg_stat_statements is not in shared_preload_libraries: its views will not work', 'fix', 'add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server (optional: only monitoring needs it)') END`,
  ])}) AS r`,
};

const SESSION_COLUMNS = [
  'session_fingerprint',
  'browser_fingerprint',
  'screen_resolution',
  'user_agent_hash',
];
const sessionColumnsPresent = `(SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'auth' AND c.relname = 'sessions' AND c.relkind IN ('r', 'p')
    AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (${litArray(SESSION_COLUMNS)})) = ${SESSION_COLUMNS.length}`;

const CATALOG_FACTS: ValidationCheck = {
  id: 'catalog_facts',
  requires: [],
  needsCompleteLegacy: false,
  sql: `SELECT jsonb_build_object('facts', jsonb_build_object(
  'table_count', (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p') AND NOT c.relispartition),
  'session_auth_migrated', ${sessionColumnsPresent},
  'server_version', current_setting('server_version'),
  'database', current_database(),
  'role', current_user)) AS r`,
};

/** At 17 the session columns must be there (000017); if not, the catalog drifted. */
const SESSION_AUTH: ValidationCheck = {
  id: 'session_auth',
  requires: ['auth.sessions'],
  needsCompleteLegacy: true,
  sql: `SELECT jsonb_build_object('problems', CASE WHEN ${sessionColumnsPresent} THEN '[]'::jsonb ELSE jsonb_build_array(${problem(
    'session_auth_not_migrated',
    'migration',
    lit(
      `schema_migrations says 000017 is applied, but auth.sessions lacks its columns (${SESSION_COLUMNS.join(', ')})`,
    ),
    lit(
      'the database drifted from its history: re-apply 000017_session_based_authentication.up.sql by hand (it is idempotent for these columns), then validate again',
    ),
  )}) END) AS r`,
};

/** The engine walks public.generated_domains (the largest table) by name: at 17 it must be there. */
const LEGACY_CORE: ValidationCheck = {
  id: 'legacy_core',
  requires: [],
  needsCompleteLegacy: true,
  sql: `SELECT jsonb_build_object('problems', CASE WHEN ${relExistsSql('public.generated_domains')} THEN '[]'::jsonb ELSE jsonb_build_array(${problem(
    'legacy_table_missing',
    'migration',
    lit('the legacy table public.generated_domains is missing'),
    lit(
      'the database drifted from its history: restore public.generated_domains as db/legacy/000001_initial_schema.up.sql creates it (`dfc validate --json` lists every catalog difference)',
    ),
  )}) END) AS r`,
};

function privilegesCheck(tables: string[]): ValidationCheck {
  return {
    id: 'privileges',
    requires: [],
    needsCompleteLegacy: false,
    sql: `WITH df AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name, pg_get_userbyid(c.relowner) AS owner,
         pg_has_role(current_user, c.relowner, 'USAGE') AS owned,
         has_table_privilege(c.oid, 'TRIGGER') AS can_trigger
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY (${litArray(tables)})
), me AS (
  SELECT r.rolsuper AS superuser,
         has_database_privilege(current_database(), 'CREATE') AS create_db,
         (SELECT has_schema_privilege(oid, 'CREATE') FROM pg_namespace WHERE nspname = 'public') AS create_public,
         (SELECT has_schema_privilege(oid, 'CREATE') FROM pg_namespace WHERE nspname = 'auth') AS create_auth
    FROM pg_roles r WHERE r.rolname = current_user
)
SELECT jsonb_build_object(
  'facts', jsonb_build_object('privileges', jsonb_build_object(
    'role', current_user, 'superuser', me.superuser, 'create_on_database', me.create_db,
    'create_on_public', me.create_public, 'create_on_auth', me.create_auth,
    'tables_checked', (SELECT count(*) FROM df),
    'tables_not_owned', (SELECT coalesce(jsonb_agg(jsonb_build_object('table', name, 'owner', owner) ORDER BY name), '[]') FROM df WHERE NOT owned),
    'tables_without_trigger_privilege', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]') FROM df WHERE NOT can_trigger))),
  'problems', ${arrayOf([
    `CASE WHEN NOT me.superuser THEN ${problem(
      'privilege_superuser',
      'privilege',
      `format('role %s is not a superuser: consolidation applies captured changes with session_replication_role = replica (so triggers and cascades do not fire twice), which only a superuser may set', current_user)`,
      lit(
        'run dfc validate and dfc consolidate as a superuser (e.g. the postgres role); the owner of the tables alone is not enough',
      ),
    )} END`,
    `CASE WHEN NOT me.create_db THEN ${problem(
      'privilege_create_database',
      'privilege',
      `format('role %s has no CREATE privilege on database %s: consolidation creates the schemas consolidation, monitoring, safety, benchmarks and the shadow/rollback schemas', current_user, current_database())`,
      `format('GRANT CREATE ON DATABASE %I TO %I, or run dfc as the database owner', current_database(), current_user)`,
    )} END`,
    `CASE WHEN me.create_public IS FALSE THEN ${problem(
      'privilege_create_schema',
      'privilege',
      `format('role %s cannot CREATE in schema public: cutover moves v2 relations into it', current_user)`,
      `format('GRANT CREATE ON SCHEMA public TO %I', current_user)`,
    )} END`,
    `CASE WHEN me.create_auth IS FALSE THEN ${problem(
      'privilege_create_schema',
      'privilege',
      `format('role %s cannot CREATE in schema auth: cutover moves v2 relations into it', current_user)`,
      `format('GRANT CREATE ON SCHEMA auth TO %I', current_user)`,
    )} END`,
    `CASE WHEN EXISTS (SELECT 1 FROM df WHERE NOT owned) THEN ${problem(
      'privilege_not_owner',
      'privilege',
      `format('role %s does not own %s DomainFlow table(s) (e.g. %s): moving a table between schemas and adding capture triggers need ownership', current_user, (SELECT count(*) FROM df WHERE NOT owned), (SELECT string_agg(name || ' owned by ' || owner, ', ' ORDER BY name) FROM (SELECT name, owner FROM df WHERE NOT owned ORDER BY name LIMIT 3) x))`,
      `format('run dfc as the role that owns the tables (%s), or GRANT that role to %I', (SELECT string_agg(DISTINCT owner, ', ') FROM df WHERE NOT owned), current_user)`,
    )} END`,
  ])}) AS r
FROM me`,
  };
}

/**
 * v2's columns by the name the cutover's replayed DDL will resolve (`schema.table`, column, type):
 * another application's object is carried when every DomainFlow column it uses exists in v2 under
 * that name with the same type. Renamed tables have no row, so anything on them is not carried.
 */
function v2ColumnsValues(def = V2): string {
  const rows = def.tables
    .filter((t) => t.schema === t.legacy.schema && t.name === t.legacy.name)
    .flatMap((t) =>
      t.columns.map((c) => `(${lit(`${t.schema}.${t.name}`)}, ${lit(c.name)}, ${lit(c.type)})`),
    );
  return rows.join(',\n    ');
}

function v2PolicyNames(def = V2): string[] {
  return def.tables.flatMap((t) =>
    (t.rowLevelSecurity?.policies ?? []).map((p) => `${t.schema}.${t.name}.${p.name}`),
  );
}

function dependentsCheck(tables: string[], def = V2): ValidationCheck {
  return {
    id: 'dependents',
    requires: [],
    // the expected-object lists are those of the legacy catalog at 17: on v2 every v2 trigger and
    // view would look foreign
    needsCompleteLegacy: true,
    // `ddl` is the quoted statement the fix shows: object names of other applications may hold
    // quotes, spaces or semicolons, and a fix that is pasted must drop that object and nothing else.
    // `blocked` says why the cutover could not recreate it on v2 (a column it uses is gone or
    // changes type); an object without it is carried by the cutover (engine/carry.ts).
    sql: `WITH df AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name, format('%I.%I', n.nspname, c.relname) AS qname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY (${litArray(tables)})
), v2c (tbl, col, typ) AS (VALUES
    ${v2ColumnsValues(def)}
), uses AS (
  -- every DomainFlow column an object uses, as pg_depend records it (views, rules, triggers' WHEN
  -- and UPDATE OF, policies) plus the columns a foreign key references
  SELECT d.classid, d.objid, df.name AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS typ
    FROM df JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = df.oid AND d.refobjsubid > 0
    JOIN pg_attribute a ON a.attrelid = df.oid AND a.attnum = d.refobjsubid
  UNION
  SELECT 'pg_constraint'::regclass, con.oid, df.name, a.attname, format_type(a.atttypid, a.atttypmod)
    FROM df JOIN pg_constraint con ON con.contype = 'f' AND con.confrelid = df.oid
    JOIN pg_attribute a ON a.attrelid = df.oid AND a.attnum = ANY (con.confkey)
  UNION
  -- a trigger function's body (plpgsql, sql) naming NEW.<column> or OLD.<column>: pg_depend does
  -- not look inside bodies, so the columns are found by name in the source; a carried trigger
  -- whose body compares a column whose type changes would fail the application's writes on v2
  SELECT 'pg_trigger'::regclass, t.oid, df.name, a.attname, format_type(a.atttypid, a.atttypmod)
    FROM df JOIN pg_trigger t ON t.tgrelid = df.oid AND NOT t.tgisinternal
    JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang AND l.lanname IN ('plpgsql', 'sql')
    JOIN pg_attribute a ON a.attrelid = df.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE p.prosrc ~* ('\\m(new|old)\\s*\\.\\s*(' || regexp_replace(a.attname, '\\W', '\\\\\\&', 'g') || '\\M|"'
                      || regexp_replace(replace(a.attname, '"', '""'), '\\W', '\\\\\\&', 'g') || '")')
), raw AS (
  SELECT DISTINCT 'view' AS kind, vn.nspname || '.' || v.relname AS object, df.name AS depends_on,
         format('DROP VIEW %I.%I', vn.nspname, v.relname) AS ddl, format('%I.%I', vn.nspname, v.relname) AS qobject,
         'pg_rewrite'::regclass AS cls, rw.oid AS oid
    FROM df JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = df.oid AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite rw ON rw.oid = d.objid
    JOIN pg_class v ON v.oid = rw.ev_class AND v.oid <> df.oid
    JOIN pg_namespace vn ON vn.oid = v.relnamespace
   WHERE vn.nspname || '.' || v.relname <> ALL (${litArray(DOMAINFLOW_VIEWS)})
  UNION ALL
  -- a view over one of DomainFlow's own views: v2 rebuilds those, and the cutover re-points only
  -- views over tables, so this one is refused (blocked) rather than left reading the rollback copy
  SELECT DISTINCT 'view', vn.nspname || '.' || v.relname, dn.nspname || '.' || dv.relname,
         format('DROP VIEW %I.%I', vn.nspname, v.relname), format('%I.%I', vn.nspname, v.relname),
         NULL::regclass, NULL::oid
    FROM pg_class dv JOIN pg_namespace dn ON dn.oid = dv.relnamespace
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = dv.oid AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite rw ON rw.oid = d.objid
    JOIN pg_class v ON v.oid = rw.ev_class AND v.oid <> dv.oid
    JOIN pg_namespace vn ON vn.oid = v.relnamespace
   WHERE dn.nspname || '.' || dv.relname = ANY (${litArray(DOMAINFLOW_VIEWS)})
     AND vn.nspname || '.' || v.relname <> ALL (${litArray(DOMAINFLOW_VIEWS)})
  UNION ALL
  SELECT 'foreign_key', cn.nspname || '.' || cl.relname || '.' || con.conname, df.name,
         format('ALTER TABLE %I.%I DROP CONSTRAINT %I', cn.nspname, cl.relname, con.conname), NULL,
         'pg_constraint'::regclass, con.oid
    FROM df JOIN pg_constraint con ON con.contype = 'f' AND con.confrelid = df.oid
    JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
   WHERE con.conrelid NOT IN (SELECT oid FROM df)
  UNION ALL
  SELECT 'trigger', df.name || '.' || t.tgname, df.name, format('DROP TRIGGER %I ON %s', t.tgname, df.qname), NULL,
         'pg_trigger'::regclass, t.oid
    FROM df JOIN pg_trigger t ON t.tgrelid = df.oid AND NOT t.tgisinternal
    JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
   WHERE df.name || '.' || t.tgname <> ALL (${litArray(DOMAINFLOW_TRIGGERS)}) AND pn.nspname <> 'consolidation'
  UNION ALL
  SELECT 'rule', df.name || '.' || rw.rulename, df.name, format('DROP RULE %I ON %s', rw.rulename, df.qname), NULL,
         'pg_rewrite'::regclass, rw.oid
    FROM df JOIN pg_rewrite rw ON rw.ev_class = df.oid AND rw.rulename <> '_RETURN'
  UNION ALL
  SELECT 'policy', df.name || '.' || po.polname, df.name, format('DROP POLICY %I ON %s', po.polname, df.qname), NULL,
         'pg_policy'::regclass, po.oid
    FROM df JOIN pg_policy po ON po.polrelid = df.oid
   WHERE df.name || '.' || po.polname <> ALL (${litArray(v2PolicyNames(def))})
  UNION ALL
  SELECT 'publication', pub.pubname, df.name, format('ALTER PUBLICATION %I SET TABLE ...', pub.pubname), NULL,
         'pg_publication_rel'::regclass, pr.oid
    FROM df JOIN pg_publication_rel pr ON pr.prrelid = df.oid JOIN pg_publication pub ON pub.oid = pr.prpubid
), found AS (
  SELECT raw.*,
         CASE WHEN raw.cls IS NULL
              THEN format('it reads DomainFlow''s view %s, which v2 rebuilds; only views over tables are re-pointed', raw.depends_on)
              WHEN NOT EXISTS (SELECT 1 FROM v2c WHERE v2c.tbl = raw.depends_on)
              THEN format('v2 has no table %s', raw.depends_on)
              ELSE (SELECT string_agg(format('%s.%s is %s in legacy, %s in v2', u.tbl, u.col, u.typ, coalesce(v2c.typ, 'absent')), '; ' ORDER BY u.tbl, u.col)
                      FROM uses u LEFT JOIN v2c ON v2c.tbl = u.tbl AND v2c.col = u.col
                     WHERE u.classid = raw.cls AND u.objid = raw.oid AND v2c.typ IS DISTINCT FROM u.typ) END AS blocked
    FROM raw
)
SELECT jsonb_build_object(
  'facts', jsonb_build_object('dependents', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'object', object, 'depends_on', depends_on, 'carried', blocked IS NULL) ORDER BY kind, object, depends_on), '[]') FROM found),
                              'dependents_note', 'functions are not tracked by pg_depend: a function of another application that names a DomainFlow table is not found here; a trigger function''s body (plpgsql, sql) is checked only for NEW.<column> / OLD.<column> naming a column whose type changes, not for dynamic SQL or other languages'),
  'problems', (SELECT coalesce(jsonb_agg(${problem(
    'foreign_dependent',
    'dependency',
    `format('%s %s depends on %s and is not part of DomainFlow; the cutover cannot recreate it on v2 (%s), so it would be left on the legacy table', kind, object, depends_on, blocked)`,
    `CASE kind
       WHEN 'view' THEN format('before consolidating: %s; recreate it against the v2 columns after cutover (its definition: SELECT pg_get_viewdef(%L::regclass))', ddl, qobject)
       WHEN 'foreign_key' THEN format('before consolidating: %s; re-add it NOT VALID against the v2 table after cutover, then VALIDATE it', ddl)
       WHEN 'trigger' THEN format('before consolidating: %s; recreate it on the v2 table after cutover', ddl)
       WHEN 'policy' THEN format('before consolidating: %s; recreate it on the v2 table after cutover', ddl)
       WHEN 'rule' THEN format('before consolidating: %s; recreate it after cutover', ddl)
       ELSE format('after cutover run %s so it publishes the v2 table (and resynchronise subscribers)', ddl) END`,
  )} ORDER BY kind, object, depends_on), '[]') FROM found WHERE blocked IS NOT NULL),
  'warnings', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', 'foreign_dependent_carried', 'kind', kind, 'object', object,
      'reason', format('%s %s depends on %s and is not part of DomainFlow: will be carried (the cutover recreates it on the v2 table inside its transaction; if that fails the cutover refuses with CONSOLIDATION_01 and changes nothing)', kind, object, depends_on),
      'fix', CASE kind WHEN 'trigger' THEN 'nothing to do; its function body was checked only for NEW./OLD. references to columns whose type changes (not dynamic SQL, not other languages): make sure it works with the v2 column types' ELSE 'nothing to do' END)
      ORDER BY kind, object, depends_on), '[]') FROM found WHERE blocked IS NULL)) AS r`,
  };
}

function spaceCheck(tables: string[]): ValidationCheck {
  return {
    id: 'space',
    requires: [],
    needsCompleteLegacy: false,
    sql: `WITH s AS (
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname IN ('public', 'auth')
     AND (n.nspname || '.' || c.relname = ANY (${litArray(tables)}) OR n.nspname || '.' || c.relname = ANY (${litArray(DOMAINFLOW_VIEWS)}))
)
SELECT jsonb_build_object('facts', jsonb_build_object('space', jsonb_build_object(
  'domainflow_bytes', s.bytes,
  'factor', ${SHADOW_SPACE_FACTOR},
  'shadow_copy_bytes_estimate', ceil(s.bytes * ${SHADOW_SPACE_FACTOR})::bigint,
  'shadow_copy_pretty', pg_size_pretty(ceil(s.bytes * ${SHADOW_SPACE_FACTOR})::bigint),
  'note', 'free disk space cannot be read from SQL: check the filesystem holding the data directory (and tablespaces) has at least this much free, plus WAL headroom'))) AS r
FROM s`,
  };
}

const BOOKKEEPING_CLASH: ValidationCheck = {
  id: 'bookkeeping_schemas',
  requires: [],
  needsCompleteLegacy: false,
  sql: `SELECT jsonb_build_object('problems', (SELECT coalesce(jsonb_agg(${problem(
    'bookkeeping_schema_taken',
    'bookkeeping',
    `format('schema %s exists but was not created by dfc (consolidation.bookkeeping_version is absent): dfc installs its monitoring tables there', n.nspname)`,
    `format('rename it (ALTER SCHEMA %I RENAME TO %I) or drop it if it is left over from the upstream consolidation scripts', n.nspname, n.nspname || '_old')`,
  )} ORDER BY n.nspname), '[]')
  FROM pg_namespace n WHERE n.nspname = ANY (${litArray(BOOKKEEPING_SCHEMAS)})
   AND NOT ${relExistsSql('consolidation.bookkeeping_version')})) AS r`,
};

/** Legacy primary-key columns of a v2 table (v2 key columns mapped back to their legacy names). */
function legacyKey(t: TableDef): string[] {
  return t.primaryKey.columns.map((c) => t.mapping[c]?.legacyColumn ?? c);
}

/** Which guide field an issue's rows count towards. */
export function guideField(t: TableDef, issue: ConversionIssue): 'invalid_users' | 'orphaned_domains' | null {
  const table = t.legacy.name;
  if (
    (table === 'campaigns' || table === 'audit_logs') &&
    issue.quarantine.action === 'null_column' &&
    issue.quarantine.column === 'user_id'
  )
    return 'invalid_users';
  if (table === 'generated_domains' && issue.id.endsWith('.orphan')) return 'orphaned_domains';
  return null;
}

/** `SELECT count(*), first 5 keys FROM <legacy table> s WHERE <predicate>` as a problem when count > 0. */
export function conversionCheck(t: TableDef, issue: ConversionIssue): ValidationCheck {
  const rel = `${quoteIdent(t.legacy.schema)}.${quoteIdent(t.legacy.name)}`;
  const key = legacyKey(t);
  const keyJson = `jsonb_build_object(${key.map((c) => `${lit(c)}, s.${quoteIdent(c)}`).join(', ')})`;
  const order = key.map((c) => `s.${quoteIdent(c)}`).join(', ');
  const field = guideField(t, issue);
  return {
    id: issue.id,
    requires: [`${t.legacy.schema}.${t.legacy.name}`],
    needsCompleteLegacy: true,
    sql: `WITH n AS (SELECT count(*) AS n FROM ${rel} s WHERE (${issue.predicate})),
k AS (SELECT coalesce(jsonb_agg(k), '[]') AS samples FROM (SELECT ${keyJson} AS k FROM ${rel} s WHERE (${issue.predicate}) ORDER BY ${order} LIMIT 5) x)
SELECT jsonb_build_object('problems', CASE WHEN n.n = 0 THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
  'code', 'conversion', 'category', 'data', 'issue', ${lit(issue.id)}, 'table', ${lit(`${t.legacy.schema}.${t.legacy.name}`)},
  'reason', ${lit(issue.reason)}, 'fix', ${lit(issue.fix)}, 'count', n.n, 'samples', k.samples,
  'quarantine', ${lit(issue.quarantine.action)}${field ? `, 'guide_field', ${lit(field)}` : ''})) END) AS r
FROM n, k`,
  };
}

/** The full list, in report order. */
export function validationChecks(def = V2): ValidationCheck[] {
  const tables = legacyTableNames(def);
  return [
    MIGRATION_ABSENT,
    MIGRATION_STATE,
    ALREADY_CONSOLIDATED,
    EXTENSIONS,
    CATALOG_FACTS,
    SESSION_AUTH,
    LEGACY_CORE,
    privilegesCheck(tables),
    dependentsCheck(tables, def),
    spaceCheck(tables),
    BOOKKEEPING_CLASH,
    ...def.tables.flatMap((t) => t.conversionIssues.map((i) => conversionCheck(t, i))),
  ];
}

/**
 * $1 = facts so far: true when the migration state is clean at 17 and the tables are still the
 * legacy ones (conversion checks read legacy columns; on v2 they would only fail).
 */
export const GATE_SQL = `SELECT coalesce(($1::jsonb -> 'migration' ->> 'version') = ${quoteLiteral(String(EXPECTED_MIGRATION_VERSION))}
  AND ($1::jsonb -> 'migration' ->> 'dirty') = 'false', false)
  AND NOT coalesce(($1::jsonb ->> 'already_consolidated')::boolean, false) AS ok`;

/** A check that raised an error ($1 check id, $2 message, $3 SQLSTATE) becomes this problem, in TS and plpgsql alike. */
export const CHECK_FAILED_SQL = `SELECT jsonb_build_object('code', 'check_failed', 'category', 'check', 'check', $1::text,
  'reason', format('check %s could not run: %s', $1::text, $2::text),
  'fix', CASE WHEN $3::text = '42501'
    THEN 'run dfc validate as the role that owns the DomainFlow tables (or grant this role SELECT on them and USAGE on schema auth)'
    ELSE 'the live catalog differs from what the check expects (see catalog drift in dfc validate); correct the schema or report the check' END) AS p`;

/** $1 facts, $2 problems, $3 warnings, $4 skipped → the report (guide fields first). */
export const ASSEMBLE_SQL = `SELECT jsonb_build_object(
  'table_count', coalesce(($1::jsonb ->> 'table_count')::int, 0),
  'session_auth_migrated', coalesce(($1::jsonb ->> 'session_auth_migrated')::boolean, false),
  'invalid_users', (SELECT coalesce(sum((p ->> 'count')::bigint), 0) FROM jsonb_array_elements($2::jsonb) p WHERE p ->> 'guide_field' = 'invalid_users'),
  'orphaned_domains', (SELECT coalesce(sum((p ->> 'count')::bigint), 0) FROM jsonb_array_elements($2::jsonb) p WHERE p ->> 'guide_field' = 'orphaned_domains'),
  'total_integrity_issues', (SELECT coalesce(sum((p ->> 'count')::bigint), 0) FROM jsonb_array_elements($2::jsonb) p WHERE p ->> 'category' = 'data'),
  'ready_for_consolidation', jsonb_array_length($2::jsonb) = 0,
  'problems', $2::jsonb,
  'warnings', $3::jsonb,
  'skipped_checks', $4::jsonb,
  'facts', $1::jsonb) AS report`;
