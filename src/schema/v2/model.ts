/**
 * Schema v2 as typed data. One definition serves `dfc install` (render everything into
 * public/auth in one transaction) and the consolidation engine (render tables into shadow
 * schemas, then indexes CONCURRENTLY, constraints NOT VALID → VALIDATE, triggers, views, and
 * move everything into place at cutover). Definitions never hard-code the schema of a DomainFlow
 * relation: they receive a {@link SchemaMap} so the same text can target the shadow schemas.
 */

/** The two DomainFlow schemas. */
export type DfSchema = 'public' | 'auth';

/** Where each DomainFlow schema's relations are created: identity for install, shadow schemas for the engine. */
export interface SchemaMap {
  /** quoted schema name to use for relations of `public` (e.g. `"public"` or `"dfc_shadow_public"`) */
  public: string;
  /** quoted schema name to use for relations of `auth` */
  auth: string;
}

export const INSTALL_SCHEMAS: SchemaMap = { public: '"public"', auth: '"auth"' };

export interface ColumnDef {
  name: string;
  /** SQL type as format_type prints it, e.g. `uuid`, `character varying(128)`, `timestamp with time zone` */
  type: string;
  notNull: boolean;
  /** default expression as SQL text, e.g. `uuid_generate_v4()`; extension functions live in public */
  default?: string;
  /** sequence owned by this column (bigserial), created in the table's schema */
  ownedSequence?: string;
}

export interface ForeignKeyDef {
  name: string;
  columns: string[];
  references: { schema: DfSchema; table: string; columns: string[] };
  onDelete?: 'CASCADE' | 'SET NULL' | 'RESTRICT' | 'NO ACTION';
}

export interface IndexDef {
  name: string;
  unique?: boolean;
  /** everything after `ON table`: e.g. `USING btree (campaign_id, created_at DESC) WHERE (status = 'x')` */
  using: string;
}

export interface TriggerDef {
  name: string;
  /** e.g. `BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION public.trigger_set_timestamp()`; {table} is replaced */
  definition: string;
  /** COMMENT ON TRIGGER text, rendered right after the CREATE TRIGGER */
  comment?: string;
}

export interface PolicyDef {
  name: string;
  /** everything after `ON {table}`: e.g. `FOR SELECT USING (...)` */
  definition: string;
}

/**
 * How one v2 column is filled from the legacy row (alias `s`) and back (alias `t` = the v2 row).
 * `forward`/`reverse` are SQL expressions shipped with the package (never user input).
 */
export interface ColumnMapping {
  forward: string;
  /** legacy column name this v2 column writes back to on reverse sync; omit for v2-only columns */
  legacyColumn?: string;
  reverse?: string;
}

/** A class of legacy rows that cannot be converted to v2 as they are. */
export interface ConversionIssue {
  /** stable id, e.g. `campaigns.user_id.not_uuid` */
  id: string;
  /** SQL predicate over the legacy row `s` that is true for an offending row */
  predicate: string;
  reason: string;
  fix: string;
  /**
   * What `--on-invalid quarantine` does: `null_column` keeps the row in v2 with this column NULL
   * (the original row is saved in consolidation.quarantine); `exclude_row` keeps the row out of v2
   * (saved in consolidation.quarantine).
   */
  quarantine: { action: 'null_column'; column: string } | { action: 'exclude_row' };
}

export interface TableDef {
  schema: DfSchema;
  name: string;
  columns: ColumnDef[];
  primaryKey: { name: string; columns: string[] };
  uniques: { name: string; columns: string[] }[];
  checks: { name: string; expression: string }[];
  foreignKeys: ForeignKeyDef[];
  indexes: IndexDef[];
  triggers: TriggerDef[];
  rowLevelSecurity?: { enabled: boolean; policies: PolicyDef[] };
  comment?: string;
  columnComments?: Record<string, string>;
  /** the legacy table it is consolidated from (same schema and name unless renamed) */
  legacy: { schema: DfSchema; name: string };
  /** v2 column name → how to fill it; every v2 column appears here */
  mapping: Record<string, ColumnMapping>;
  conversionIssues: ConversionIssue[];
}

/** Non-table objects, rendered as SQL text against a schema map. */
export interface V2Definition {
  /** extensions and schemas; run before anything (idempotent statements) */
  prelude: string;
  /** functions (CREATE OR REPLACE), created in public/auth in their final place */
  functions: string;
  tables: TableDef[];
  /**
   * Tables new in v2 with no legacy source (schema_version_info). Their `legacy` names a table
   * that does not exist and their mappings are all v2-only: the engine creates them empty (with
   * everything else of the table) and writes their rows itself (SCHEMA_VERSION_ROW_SQL).
   */
  newTables: TableDef[];
  /** views and materialized views (with their indexes), over the mapped schemas */
  views: (s: SchemaMap) => string;
  /** comments, grants and anything else that closes the install */
  epilogue: (s: SchemaMap) => string;
}
