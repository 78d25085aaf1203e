/**
 * Small builders that keep the table definitions readable: a column in one line, the identity
 * mapping filled in for every carried column, and the conversion issues every foreign key implies.
 */
import { quoteIdent } from '../../sql/sql.js';
import type {
  ColumnDef,
  ColumnMapping,
  ConversionIssue,
  DfSchema,
  ForeignKeyDef,
  IndexDef,
  TableDef,
  TriggerDef,
} from './model.js';

export const NN = true;

/** `col('id', 'uuid', NN, 'uuid_generate_v4()')` */
export function col(name: string, type: string, notNull = false, def?: string): ColumnDef {
  return def === undefined ? { name, type, notNull } : { name, type, notNull, default: def };
}

/**
 * What PostgreSQL's uuid input accepts (uuid.c string_to_uuid): optional braces around 32 hex
 * digits, a hyphen optional after every group of four, any letter case. Matching it exactly means
 * a row the predicate lets through always casts, and a convertible row is never flagged.
 */
export const UUID_TEXT_RE = String.raw`^(\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\}|[0-9a-f]{4}(-?[0-9a-f]{4}){7})$`;

/** `expr` (text) is a string PostgreSQL casts to uuid. */
export const isUuidText = (expr: string) => `(${expr} ~* '${UUID_TEXT_RE}')`;

const V4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const V4 = `(${V4_OCTET}\\.){3}${V4_OCTET}`;
const H = '[0-9a-f]{1,4}';
/** the RFC 4291 text forms without an embedded IPv4 tail (those are flagged, conservatively) */
const V6_ALTERNATIVES = [
  `(${H}:){7}${H}`,
  `(${H}:){1,7}:`,
  `(${H}:){1,6}:${H}`,
  `(${H}:){1,5}(:${H}){1,2}`,
  `(${H}:){1,4}(:${H}){1,3}`,
  `(${H}:){1,3}(:${H}){1,4}`,
  `(${H}:){1,2}(:${H}){1,5}`,
  `${H}:(:${H}){1,6}`,
  `:((:${H}){1,7}|:)`,
];
const V6 = V6_ALTERNATIVES.join('|');
/**
 * A conservative inet recogniser: every string it accepts casts to inet (strict dotted quad or a
 * plain IPv6 form, optional prefix length); rarer spellings PostgreSQL would also accept are
 * reported instead of guessed at. PostgreSQL 12–15 has no pg_input_is_valid(), so no exact test.
 */
export const INET_TEXT_RE = `^((${V4})(/([0-9]|[12][0-9]|3[0-2]))?|(${V6})(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?)$`;
const V4_TEXT_RE = `^(${V4})(/([0-9]|[12][0-9]|3[0-2]))?$`;
const V6_TEXT_RES = V6_ALTERNATIVES.map((alt) => `^(${alt})(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?$`);
/**
 * `expr` (text) matches INET_TEXT_RE, tested as the OR of its anchored top-level alternatives
 * (`^(a|b)$` holds exactly when `^(a)$` or `^(b)$` does): PostgreSQL's regex engine runs one big
 * alternation about 3× slower than its parts, and an IPv4 address stops at the first. Same
 * answer on every input, NULL included (test/integration/verify-compare.test.ts).
 */
export const isInetText = (expr: string) =>
  `(${[V4_TEXT_RE, ...V6_TEXT_RES].map((re) => `${expr} ~* '${re}'`).join(' OR ')})`;

/** identity mapping for a carried column */
export const same = (name: string): ColumnMapping => ({
  forward: `s.${quoteIdent(name)}`,
  legacyColumn: name,
  reverse: `t.${quoteIdent(name)}`,
});

/** A column that exists only in v2: legacy rows get `value` (its default or NULL); nothing flows back. */
export const v2Only = (value = 'NULL'): ColumnMapping => ({ forward: value });

/** Issue id and predicate for rows whose FK column points at no parent (legacy FKs can be bypassed with replica mode). */
export function orphanIssue(
  table: string,
  fk: ForeignKeyDef,
  columnNullable: boolean,
  parentExpr = (c: string) => `s.${quoteIdent(c)}`,
): ConversionIssue {
  const [c] = fk.columns;
  const [pc] = fk.references.columns;
  if (!c || !pc || fk.columns.length !== 1)
    throw new Error(`composite FK ${fk.name} needs a hand-written issue`);
  const parent = `${quoteIdent(fk.references.schema)}.${quoteIdent(fk.references.table)}`;
  // a nullable column can lose the dangling reference and keep the row; a NOT NULL one cannot
  const nullable = columnNullable;
  return {
    id: `${table}.${c}.orphan`,
    predicate: `s.${quoteIdent(c)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE p.${quoteIdent(pc)} = ${parentExpr(c)})`,
    reason: `${c} references a ${fk.references.table} row that does not exist (foreign key ${fk.name})`,
    fix: nullable
      ? `UPDATE the rows to set ${c} = NULL, or restore the missing ${fk.references.table} rows`
      : `delete the orphaned rows, or restore the missing ${fk.references.table} rows`,
    quarantine: nullable ? { action: 'null_column', column: c } : { action: 'exclude_row' },
  };
}

export interface TableSpec {
  schema: DfSchema;
  name: string;
  columns: ColumnDef[];
  primaryKey: { name: string; columns: string[] };
  uniques?: { name: string; columns: string[] }[];
  checks?: { name: string; expression: string }[];
  foreignKeys?: ForeignKeyDef[];
  indexes?: IndexDef[];
  triggers?: TriggerDef[];
  rowLevelSecurity?: TableDef['rowLevelSecurity'];
  comment?: string;
  columnComments?: Record<string, string>;
  legacy?: { schema: DfSchema; name: string };
  /** mappings that are not the identity (type changes, v2-only columns) */
  mapping?: Record<string, ColumnMapping>;
  conversionIssues?: ConversionIssue[];
  /** FK names whose orphan issue is hand-written in conversionIssues (type-changing columns) */
  customOrphanIssues?: string[];
}

/**
 * Build a TableDef: every column not in `mapping` is carried unchanged, and every foreign key gets
 * an orphan issue unless a hand-written one replaces it.
 */
export function table(spec: TableSpec): TableDef {
  const mapping: Record<string, ColumnMapping> = {};
  for (const c of spec.columns) mapping[c.name] = spec.mapping?.[c.name] ?? same(c.name);
  for (const k of Object.keys(spec.mapping ?? {}))
    if (!spec.columns.some((c) => c.name === k))
      throw new Error(`${spec.name}: mapping for unknown column ${k}`);
  const fks = spec.foreignKeys ?? [];
  const orphans = fks
    .filter((fk) => !(spec.customOrphanIssues ?? []).includes(fk.name))
    .map((fk) => {
      const column = spec.columns.find((c) => c.name === fk.columns[0]);
      return orphanIssue(spec.name, fk, !column?.notNull);
    });
  // two FKs on the same column (mfa_backup_codes has fk_user and ..._user_id_fkey) imply one issue
  const seen = new Set<string>();
  const issues = [...orphans, ...(spec.conversionIssues ?? [])].filter((i) => {
    if (seen.has(i.id)) return false;
    seen.add(i.id);
    return true;
  });
  const t: TableDef = {
    schema: spec.schema,
    name: spec.name,
    columns: spec.columns,
    primaryKey: spec.primaryKey,
    uniques: spec.uniques ?? [],
    checks: spec.checks ?? [],
    foreignKeys: fks,
    indexes: spec.indexes ?? [],
    triggers: spec.triggers ?? [],
    legacy: spec.legacy ?? { schema: spec.schema, name: spec.name },
    mapping,
    conversionIssues: issues,
  };
  if (spec.rowLevelSecurity) t.rowLevelSecurity = spec.rowLevelSecurity;
  if (spec.comment) t.comment = spec.comment;
  if (spec.columnComments) t.columnComments = spec.columnComments;
  return t;
}

/** `fk('campaign_id', 'public', 'campaigns', 'CASCADE', 'name')` with the referenced column `id` */
export function fk(
  name: string,
  column: string,
  schema: DfSchema,
  refTable: string,
  onDelete?: ForeignKeyDef['onDelete'],
  refColumn = 'id',
): ForeignKeyDef {
  const d: ForeignKeyDef = {
    name,
    columns: [column],
    references: { schema, table: refTable, columns: [refColumn] },
  };
  if (onDelete) d.onDelete = onDelete;
  return d;
}

export const idx = (name: string, using: string, unique = false): IndexDef =>
  unique ? { name, using, unique } : { name, using };

/** the legacy BEFORE UPDATE trigger that keeps updated_at current */
export const setTimestamp = (name: string, fn = 'public.trigger_set_timestamp()'): TriggerDef => ({
  name,
  definition: `BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION ${fn}`,
});
