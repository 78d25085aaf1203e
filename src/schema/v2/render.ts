/**
 * Schema v2 as SQL. `renderInstallSql()` is the one-transaction install script; the per-object
 * helpers are what the consolidation engine uses to build the same objects step by step in
 * shadow schemas (tables with their primary key only, indexes CONCURRENTLY, constraints NOT VALID
 * then VALIDATE). All identifiers go through quoteIdent; expressions come from the definitions,
 * which ship with the package.
 *
 * @example
 *   indexSql(campaigns, campaigns.indexes[0], INSTALL_SCHEMAS, { concurrently: true })
 *   // CREATE INDEX CONCURRENTLY "idx_campaigns_active_status" ON "public"."campaigns" USING btree (...)
 */
import { quoteIdent } from '../../sql/sql.js';
import { SCHEMA_MIGRATIONS_SQL, SCHEMA_VERSION_ROW_SQL, SEED_SQL, V2 } from './index.js';
import {
  type ColumnDef,
  type ForeignKeyDef,
  INSTALL_SCHEMAS,
  type IndexDef,
  type PolicyDef,
  type SchemaMap,
  type TableDef,
  type TriggerDef,
} from './model.js';

type Named = { name: string; columns: string[] };

const cols = (names: string[]) => names.map(quoteIdent).join(', ');

/** `"public"."campaigns"` (or the shadow schema's name) */
export function qualifiedTable(t: Pick<TableDef, 'schema' | 'name'>, s: SchemaMap = INSTALL_SCHEMAS): string {
  return `${s[t.schema]}.${quoteIdent(t.name)}`;
}

function sequenceName(t: TableDef, c: ColumnDef, s: SchemaMap): string {
  return `${s[t.schema]}.${quoteIdent(c.ownedSequence as string)}`;
}

function columnSql(t: TableDef, c: ColumnDef, s: SchemaMap): string {
  // a bigserial's default names its sequence in the table's (possibly shadow) schema
  const def = c.ownedSequence ? `nextval('${sequenceName(t, c, s)}'::regclass)` : c.default;
  return `    ${quoteIdent(c.name)} ${c.type}${def !== undefined ? ` DEFAULT ${def}` : ''}${c.notNull ? ' NOT NULL' : ''}`;
}

export interface CreateTableOptions {
  /**
   * 'all': primary key, uniques and checks inline; 'pk-only': just the primary key; 'none': no
   * constraint at all (the engine's shadow during the bulk copy). Foreign keys never (see foreignKeySql).
   */
  constraints?: 'all' | 'pk-only' | 'none';
}

/**
 * CREATE SEQUENCE for owned sequences, CREATE TABLE, and the sequences' OWNED BY.
 *
 * @example
 *   createTableSql(keywordSets, INSTALL_SCHEMAS, { constraints: 'pk-only' })
 *   // CREATE TABLE "public"."keyword_sets" (\n    "id" uuid DEFAULT uuid_generate_v4() NOT NULL, ...,
 *   //     CONSTRAINT "keyword_sets_pkey" PRIMARY KEY ("id")\n);
 */
export function createTableSql(
  t: TableDef,
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: CreateTableOptions = {},
): string {
  const all = (opts.constraints ?? 'all') === 'all';
  const seqCols = t.columns.filter((c) => c.ownedSequence);
  const lines = t.columns.map((c) => columnSql(t, c, s));
  if (opts.constraints !== 'none')
    lines.push(`    CONSTRAINT ${quoteIdent(t.primaryKey.name)} PRIMARY KEY (${cols(t.primaryKey.columns)})`);
  if (all) {
    for (const u of t.uniques) lines.push(`    CONSTRAINT ${quoteIdent(u.name)} UNIQUE (${cols(u.columns)})`);
    for (const c of t.checks) lines.push(`    CONSTRAINT ${quoteIdent(c.name)} CHECK (${c.expression})`);
  }
  const out = seqCols.map((c) => `CREATE SEQUENCE ${sequenceName(t, c, s)};`);
  out.push(`CREATE TABLE ${qualifiedTable(t, s)} (\n${lines.join(',\n')}\n);`);
  for (const c of seqCols)
    out.push(
      `ALTER SEQUENCE ${sequenceName(t, c, s)} OWNED BY ${qualifiedTable(t, s)}.${quoteIdent(c.name)};`,
    );
  return out.join('\n');
}

/** CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON table ... — CONCURRENTLY must run outside a transaction. */
export function indexSql(
  t: TableDef,
  i: IndexDef,
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: { concurrently?: boolean } = {},
): string {
  return `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}${quoteIdent(i.name)} ON ${qualifiedTable(t, s)} ${i.using};`;
}

/** The unique index behind a UNIQUE constraint, built first (optionally CONCURRENTLY) and attached with uniqueConstraintSql. */
export function uniqueIndexSql(
  t: TableDef,
  u: Named,
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: { concurrently?: boolean } = {},
): string {
  return indexSql(t, { name: u.name, unique: true, using: `USING btree (${cols(u.columns)})` }, s, opts);
}

/** ALTER TABLE ... ADD CONSTRAINT name UNIQUE [USING INDEX name] (the index keeps the constraint's name). */
export function uniqueConstraintSql(
  t: TableDef,
  u: Named,
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: { usingIndex?: boolean } = {},
): string {
  const body = opts.usingIndex ? `UNIQUE USING INDEX ${quoteIdent(u.name)}` : `UNIQUE (${cols(u.columns)})`;
  return `ALTER TABLE ${qualifiedTable(t, s)} ADD CONSTRAINT ${quoteIdent(u.name)} ${body};`;
}

/** ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... [NOT VALID]; the referenced table is mapped too. */
export function foreignKeySql(
  t: TableDef,
  fk: ForeignKeyDef,
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: { notValid?: boolean } = {},
): string {
  const ref = qualifiedTable({ schema: fk.references.schema, name: fk.references.table }, s);
  const onDelete = fk.onDelete && fk.onDelete !== 'NO ACTION' ? ` ON DELETE ${fk.onDelete}` : '';
  return `ALTER TABLE ${qualifiedTable(t, s)} ADD CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${cols(fk.columns)}) REFERENCES ${ref} (${cols(fk.references.columns)})${onDelete}${opts.notValid ? ' NOT VALID' : ''};`;
}

/** ALTER TABLE ... ADD CONSTRAINT ... CHECK (...) [NOT VALID] */
export function checkSql(
  t: TableDef,
  c: { name: string; expression: string },
  s: SchemaMap = INSTALL_SCHEMAS,
  opts: { notValid?: boolean } = {},
): string {
  return `ALTER TABLE ${qualifiedTable(t, s)} ADD CONSTRAINT ${quoteIdent(c.name)} CHECK (${c.expression})${opts.notValid ? ' NOT VALID' : ''};`;
}

/** CREATE UNIQUE INDEX for the primary key, then ADD PRIMARY KEY USING it (what 'none' left out). */
export function primaryKeySql(t: TableDef, s: SchemaMap = INSTALL_SCHEMAS): string {
  const pk = t.primaryKey;
  return `CREATE UNIQUE INDEX ${quoteIdent(pk.name)} ON ${qualifiedTable(t, s)} USING btree (${cols(pk.columns)});
ALTER TABLE ${qualifiedTable(t, s)} ADD CONSTRAINT ${quoteIdent(pk.name)} PRIMARY KEY USING INDEX ${quoteIdent(pk.name)};`;
}

/** ALTER TABLE ... VALIDATE CONSTRAINT name (SHARE UPDATE EXCLUSIVE: writes continue) */
export function validateConstraintSql(t: TableDef, name: string, s: SchemaMap = INSTALL_SCHEMAS): string {
  return `ALTER TABLE ${qualifiedTable(t, s)} VALIDATE CONSTRAINT ${quoteIdent(name)};`;
}

/** CREATE TRIGGER name <definition with {table} replaced> */
export function triggerSql(t: TableDef, trg: TriggerDef, s: SchemaMap = INSTALL_SCHEMAS): string {
  const create = `CREATE TRIGGER ${quoteIdent(trg.name)} ${trg.definition.replaceAll('{table}', qualifiedTable(t, s))};`;
  if (!trg.comment) return create;
  return `${create}\nCOMMENT ON TRIGGER ${quoteIdent(trg.name)} ON ${qualifiedTable(t, s)} IS ${textLiteral(trg.comment)};`;
}

/** ALTER TABLE ... ENABLE ROW LEVEL SECURITY (empty when the table has none) */
export function rowLevelSecuritySql(t: TableDef, s: SchemaMap = INSTALL_SCHEMAS): string {
  return t.rowLevelSecurity?.enabled ? `ALTER TABLE ${qualifiedTable(t, s)} ENABLE ROW LEVEL SECURITY;` : '';
}

/** CREATE POLICY name ON table <definition> */
export function policySql(t: TableDef, p: PolicyDef, s: SchemaMap = INSTALL_SCHEMAS): string {
  return `CREATE POLICY ${quoteIdent(p.name)} ON ${qualifiedTable(t, s)} ${p.definition};`;
}

const textLiteral = (v: string) => `'${v.replaceAll("'", "''")}'`;

/** COMMENT ON TABLE / COLUMN statements of the table */
export function commentSql(t: TableDef, s: SchemaMap = INSTALL_SCHEMAS): string {
  const out: string[] = [];
  if (t.comment) out.push(`COMMENT ON TABLE ${qualifiedTable(t, s)} IS ${textLiteral(t.comment)};`);
  for (const [c, text] of Object.entries(t.columnComments ?? {}))
    out.push(`COMMENT ON COLUMN ${qualifiedTable(t, s)}.${quoteIdent(c)} IS ${textLiteral(text)};`);
  return out.join('\n');
}

/** Every statement that completes a table after CREATE TABLE (constraints 'all'), except foreign keys. */
export function tableExtrasSql(t: TableDef, s: SchemaMap = INSTALL_SCHEMAS): string[] {
  return [
    ...t.indexes.map((i) => indexSql(t, i, s)),
    ...t.triggers.map((trg) => triggerSql(t, trg, s)),
    rowLevelSecuritySql(t, s),
    ...(t.rowLevelSecurity?.policies ?? []).map((p) => policySql(t, p, s)),
    commentSql(t, s),
  ].filter((x) => x.length > 0);
}

const section = (title: string, body: string) =>
  `-- ${'='.repeat(76)}\n-- ${title}\n-- ${'='.repeat(76)}\n\n${body}`;

/**
 * The whole of schema v2 for an empty database, as one script for one transaction
 * (`psql -1 -v ON_ERROR_STOP=1 -f db/v2/consolidated_schema_v2.sql`, or `dfc install`).
 */
export function renderInstallSql(): string {
  const s = INSTALL_SCHEMAS;
  const tables = [...V2.tables, ...V2.newTables];
  const parts = [
    `-- DomainFlow schema v2 (consolidated 000001-000017). GENERATED by \`npm run gen:v2\` from
-- src/schema/v2/*.ts — do not edit; the reasons for each choice are comments there.
-- Apply to an empty database in one transaction: psql -1 -v ON_ERROR_STOP=1 -f consolidated_schema_v2.sql
SET client_min_messages = warning;
SET search_path = public;`,
    section('Extensions, schemas, role', V2.prelude),
    section('Functions', V2.functions),
    section('Tables', tables.map((t) => createTableSql(t, s, { constraints: 'all' })).join('\n\n')),
    section(
      'Foreign keys',
      tables.flatMap((t) => t.foreignKeys.map((fk) => foreignKeySql(t, fk, s))).join('\n'),
    ),
    section(
      'Indexes, triggers, row-level security, comments',
      tables
        .map((t) => tableExtrasSql(t, s).join('\n'))
        .filter(Boolean)
        .join('\n\n'),
    ),
    section('Seed rows (install only; a consolidation copies the live rows)', SEED_SQL),
    section('Views and materialized views', V2.views(s)),
    section('Grants', V2.epilogue(s)),
    section(
      'Version bookkeeping: schema_version_info 2.0, golang-migrate at 17',
      `${SCHEMA_VERSION_ROW_SQL}\n\n${SCHEMA_MIGRATIONS_SQL}`,
    ),
  ];
  return `${parts.join('\n\n')}\n`;
}
