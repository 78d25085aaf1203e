/**
 * A typed, deterministic snapshot of the schema objects in a set of schemas, read from pg_catalog,
 * and a readable diff between two snapshots. Used to compare a live database with an expected
 * catalog (the legacy history, a fresh v2 install) without any engine code.
 *
 * Determinism: everything is sorted by name (code-point order), except columns, which keep their
 * table order (attnum) because order is part of a table's shape. Expressions are printed by
 * PostgreSQL itself with `search_path = pg_catalog`, so every non-catalog name is schema-qualified
 * (e.g. `public.uuid_generate_v4()`, `REFERENCES public.campaigns(id)`) whatever the caller's
 * search_path. NOT NULL appears as `nullable` on the column (PostgreSQL 18's named NOT NULL
 * constraints are not listed), and indexes that back a PK/UNIQUE/EXCLUDE constraint are listed
 * under the constraint only. Objects that belong to an extension (pgcrypto's functions...) are left
 * out; the extension itself is listed.
 *
 * @example
 *   const a = await readCatalog(client, ['public', 'auth']);
 *   const b = await readCatalog(other, ['public', 'auth']);
 *   diffCatalogs(a, b, { a: 'expected', b: 'live' });
 *   // → ['table public.campaigns: column status: type: expected text, live character varying(32)', ...]
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export interface CatalogColumn {
  name: string;
  /** format_type(), e.g. `character varying(128)`, `timestamp with time zone`, `uuid[]` */
  type: string;
  nullable: boolean;
  /** default expression as PostgreSQL prints it, or null */
  default: string | null;
  /** 'always' | 'by default' for identity columns, else null */
  identity: string | null;
  /** generation expression of a stored generated column, else null */
  generated: string | null;
  comment: string | null;
}

export type ConstraintKind = 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion' | 'trigger';

export interface CatalogConstraint {
  name: string;
  kind: ConstraintKind;
  /** pg_get_constraintdef(), e.g. `FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE` */
  definition: string;
  /** false for a NOT VALID constraint */
  validated: boolean;
  comment: string | null;
}

export interface CatalogIndex {
  name: string;
  unique: boolean;
  /** access method: btree, gin, ... */
  method: string;
  /** the key list as written in the definition, e.g. `user_id, created_at DESC` */
  keys: string;
  /** partial-index predicate (pg_get_expr), or null */
  predicate: string | null;
  /** pg_get_indexdef(); null in a {@link looseCatalog} */
  definition: string | null;
  /** false for an index left invalid by a failed CREATE INDEX CONCURRENTLY */
  valid: boolean;
}

export interface CatalogTrigger {
  name: string;
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  /** subset of INSERT, UPDATE, DELETE, TRUNCATE, in that order */
  events: string[];
  level: 'ROW' | 'STATEMENT';
  /** the trigger function as regprocedure, e.g. `public.trigger_set_timestamp()` */
  function: string;
  /** origin (normal), always, replica, disabled */
  enabled: 'origin' | 'always' | 'replica' | 'disabled';
  /** pg_get_triggerdef(); null in a {@link looseCatalog} */
  definition: string | null;
  comment: string | null;
}

export interface CatalogPolicy {
  name: string;
  permissive: boolean;
  /** ALL, SELECT, INSERT, UPDATE, DELETE */
  command: string;
  /** role names; `public` for PUBLIC */
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

export interface CatalogGrant {
  /** role name, or PUBLIC */
  grantee: string;
  /** e.g. DELETE, INSERT, SELECT, UPDATE (sorted); `*` suffix = WITH GRANT OPTION */
  privileges: string[];
}

export interface CatalogTable {
  schema: string;
  name: string;
  comment: string | null;
  rls: { enabled: boolean; forced: boolean };
  columns: CatalogColumn[];
  constraints: CatalogConstraint[];
  indexes: CatalogIndex[];
  triggers: CatalogTrigger[];
  policies: CatalogPolicy[];
  /** privileges granted to roles other than the owner */
  grants: CatalogGrant[];
}

export interface CatalogView {
  schema: string;
  name: string;
  kind: 'view' | 'materialized view';
  columns: { name: string; type: string }[];
  /** pg_get_viewdef(); null in a {@link looseCatalog} */
  definition: string | null;
  indexes: CatalogIndex[];
  comment: string | null;
  grants: CatalogGrant[];
}

export interface CatalogFunction {
  schema: string;
  name: string;
  /** pg_get_function_identity_arguments(), e.g. `data jsonb, key text` */
  args: string;
  /** pg_get_function_result(), e.g. `trigger`, `TABLE(is_valid boolean, ...)` */
  result: string;
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  language: string;
  volatility: 'immutable' | 'stable' | 'volatile';
  securityDefiner: boolean;
  /** sha-256 of the body text (prosrc), to detect a changed body; null in a {@link looseCatalog} */
  bodyHash: string | null;
  comment: string | null;
}

export interface CatalogSequence {
  schema: string;
  name: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  /** `schema.table.column` for a sequence owned by a column (serial/identity), else null */
  ownedBy: string | null;
}

export interface CatalogExtension {
  name: string;
  schema: string;
  /** null in a {@link looseCatalog} */
  version: string | null;
}

export interface Catalog {
  /** the requested schemas that exist */
  schemas: string[];
  extensions: CatalogExtension[];
  tables: CatalogTable[];
  views: CatalogView[];
  functions: CatalogFunction[];
  sequences: CatalogSequence[];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
const relKey = (r: { schema: string; name: string }) => `${r.schema}.${r.name}`;

const CONSTRAINT_KINDS: Record<string, ConstraintKind> = {
  p: 'primary key',
  u: 'unique',
  f: 'foreign key',
  c: 'check',
  x: 'exclusion',
  t: 'trigger',
};
const TRIGGER_ENABLED: Record<string, CatalogTrigger['enabled']> = {
  O: 'origin',
  A: 'always',
  R: 'replica',
  D: 'disabled',
};
const POLICY_COMMANDS: Record<string, string> = {
  '*': 'ALL',
  r: 'SELECT',
  a: 'INSERT',
  w: 'UPDATE',
  d: 'DELETE',
};
const FUNCTION_KINDS: Record<string, CatalogFunction['kind']> = {
  f: 'function',
  p: 'procedure',
  a: 'aggregate',
  w: 'window',
};
const VOLATILITY: Record<string, CatalogFunction['volatility']> = {
  i: 'immutable',
  s: 'stable',
  v: 'volatile',
};

/** The key list of an index definition: the text inside `USING method ( ... )`, parentheses balanced. */
export function indexKeys(definition: string): string {
  const m = / USING \w+ \(/.exec(definition);
  if (!m) return '';
  let depth = 1;
  let quote: string | null = null;
  const start = m.index + m[0].length;
  for (let i = start; i < definition.length; i++) {
    const ch = definition[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return definition.slice(start, i);
  }
  return definition.slice(start);
}

/** Trigger type bits (pg_trigger.tgtype) → timing, events, level. */
function triggerShape(tgtype: number): Pick<CatalogTrigger, 'timing' | 'events' | 'level'> {
  const events: string[] = [];
  if (tgtype & 4) events.push('INSERT');
  if (tgtype & 16) events.push('UPDATE');
  if (tgtype & 8) events.push('DELETE');
  if (tgtype & 32) events.push('TRUNCATE');
  return {
    timing: tgtype & 64 ? 'INSTEAD OF' : tgtype & 2 ? 'BEFORE' : 'AFTER',
    events,
    level: tgtype & 1 ? 'ROW' : 'STATEMENT',
  };
}

/** Objects that are members of an extension (their catalog and oid), left out of the snapshot. */
const NOT_EXTENSION_MEMBER = (cls: string, oidExpr: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${cls}'::regclass AND d.objid = ${oidExpr} AND d.deptype = 'e')`;

/**
 * Read the catalog of `schemas`. The session's search_path is set to pg_catalog while reading (so
 * printed names are qualified) and restored afterwards.
 */
export async function readCatalog(client: pg.ClientBase, schemas: string[]): Promise<Catalog> {
  const saved = (await client.query<{ sp: string }>('SELECT current_setting($1) AS sp', ['search_path']))
    .rows[0]!.sp;
  await client.query('SELECT set_config($1, $2, false)', ['search_path', 'pg_catalog']);
  try {
    return await readWithQualifiedNames(client, schemas);
  } finally {
    await client.query('SELECT set_config($1, $2, false)', ['search_path', saved]);
  }
}

async function readWithQualifiedNames(client: pg.ClientBase, schemas: string[]): Promise<Catalog> {
  const q = async <R extends pg.QueryResultRow>(text: string) =>
    (await client.query<R>(text, [schemas])).rows;

  const present = await q<{ nspname: string }>(
    'SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY nspname COLLATE "C"',
  );
  const extensions = await q<{ name: string; schema: string; version: string }>(`
    SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE n.nspname = ANY($1::text[])`);

  const rels = await q<{
    oid: number;
    schema: string;
    name: string;
    relkind: string;
    comment: string | null;
    rls: boolean;
    forced: boolean;
    definition: string | null;
  }>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
           obj_description(c.oid, 'pg_class') AS comment, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
      AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`);

  const columns = await q<{
    relid: number;
    name: string;
    type: string;
    nullable: boolean;
    default: string | null;
    identity: string;
    generated: string;
    comment: string | null;
  }>(`
    SELECT a.attrelid::int AS relid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable,
           CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default,
           a.attidentity::text AS identity,
           CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END AS generated,
           col_description(a.attrelid, a.attnum) AS comment
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
      AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attrelid, a.attnum`);

  const constraints = await q<{
    relid: number;
    name: string;
    contype: string;
    definition: string;
    validated: boolean;
    comment: string | null;
  }>(`
    SELECT con.conrelid::int AS relid, con.conname AS name, con.contype::text AS contype,
           pg_get_constraintdef(con.oid) AS definition, con.convalidated AS validated,
           obj_description(con.oid, 'pg_constraint') AS comment
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND con.contype <> 'n'`);

  const indexes = await q<{
    relid: number;
    name: string;
    unique: boolean;
    method: string;
    predicate: string | null;
    definition: string;
    valid: boolean;
  }>(`
    SELECT i.indrelid::int AS relid, ic.relname AS name, i.indisunique AS unique, am.amname AS method,
           pg_get_expr(i.indpred, i.indrelid) AS predicate, pg_get_indexdef(i.indexrelid) AS definition,
           i.indisvalid AS valid
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
    JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                      AND con.contype IN ('p', 'u', 'x'))`);

  const triggers = await q<{
    relid: number;
    name: string;
    tgtype: number;
    function: string;
    enabled: string;
    definition: string;
    comment: string | null;
  }>(`
    SELECT t.tgrelid::int AS relid, t.tgname AS name, t.tgtype::int AS tgtype, t.tgfoid::regprocedure::text AS function,
           t.tgenabled::text AS enabled, pg_get_triggerdef(t.oid) AS definition,
           obj_description(t.oid, 'pg_trigger') AS comment
    FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND NOT t.tgisinternal`);

  const policies = await q<{
    relid: number;
    name: string;
    permissive: boolean;
    cmd: string;
    roles: string[];
    using: string | null;
    with_check: string | null;
  }>(`
    SELECT p.polrelid::int AS relid, p.polname AS name, p.polpermissive AS permissive, p.polcmd::text AS cmd,
           ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END
                 FROM unnest(p.polroles) r ORDER BY 1)::text[] AS roles,
           pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
    FROM pg_policy p
    JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[])`);

  const grants = await q<{ relid: number; grantee: string; privilege: string }>(`
    SELECT c.oid::int AS relid,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
           a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS privilege
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
    WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm') AND a.grantee <> c.relowner`);

  const functions = await q<{
    schema: string;
    name: string;
    args: string;
    result: string | null;
    prokind: string;
    language: string;
    volatility: string;
    secdef: boolean;
    src: string | null;
    comment: string | null;
  }>(`
    SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
           pg_get_function_result(p.oid) AS result, p.prokind::text AS prokind, l.lanname AS language,
           p.provolatile::text AS volatility, p.prosecdef AS secdef, p.prosrc AS src,
           obj_description(p.oid, 'pg_proc') AS comment
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}`);

  const sequences = await q<{
    schema: string;
    name: string;
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    owned_by: string | null;
  }>(`
    SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
           s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min,
           s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle,
           (SELECT tn.nspname || '.' || tc.relname || '.' || a.attname
            FROM pg_depend d
            JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
            LIMIT 1) AS owned_by
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`);

  const group = <T extends { relid: number }>(rows: T[]) => {
    const m = new Map<number, T[]>();
    for (const r of rows) {
      const list = m.get(r.relid);
      if (list) list.push(r);
      else m.set(r.relid, [r]);
    }
    return (relid: number) => m.get(relid) ?? [];
  };
  const colsOf = group(columns);
  const consOf = group(constraints);
  const idxOf = group(indexes);
  const trgOf = group(triggers);
  const polOf = group(policies);
  const grantsOf = (relid: number): CatalogGrant[] => {
    const by = new Map<string, string[]>();
    for (const g of group(grants)(relid)) by.set(g.grantee, [...(by.get(g.grantee) ?? []), g.privilege]);
    return [...by.entries()]
      .map(([grantee, privileges]) => ({ grantee, privileges: [...new Set(privileges)].sort() }))
      .sort(byKey((g) => g.grantee));
  };
  const indexList = (relid: number): CatalogIndex[] =>
    idxOf(relid)
      .map((i) => ({
        name: i.name,
        unique: i.unique,
        method: i.method,
        keys: indexKeys(i.definition),
        predicate: i.predicate,
        definition: i.definition,
        valid: i.valid,
      }))
      .sort(byName);

  const tables: CatalogTable[] = [];
  const views: CatalogView[] = [];
  for (const r of rels) {
    const cols = colsOf(r.oid);
    if (r.relkind === 'v' || r.relkind === 'm') {
      views.push({
        schema: r.schema,
        name: r.name,
        kind: r.relkind === 'v' ? 'view' : 'materialized view',
        columns: cols.map((c) => ({ name: c.name, type: c.type })),
        definition: r.definition,
        indexes: indexList(r.oid),
        comment: r.comment,
        grants: grantsOf(r.oid),
      });
      continue;
    }
    tables.push({
      schema: r.schema,
      name: r.name,
      comment: r.comment,
      rls: { enabled: r.rls, forced: r.forced },
      columns: cols.map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable,
        default: c.default,
        identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by default' : null,
        generated: c.generated === '' ? null : c.generated,
        comment: c.comment,
      })),
      constraints: consOf(r.oid)
        .map((c) => ({
          name: c.name,
          kind: CONSTRAINT_KINDS[c.contype] ?? 'check',
          definition: c.definition,
          validated: c.validated,
          comment: c.comment,
        }))
        .sort(byName),
      indexes: indexList(r.oid),
      triggers: trgOf(r.oid)
        .map((t) => ({
          name: t.name,
          ...triggerShape(t.tgtype),
          function: t.function,
          enabled: TRIGGER_ENABLED[t.enabled] ?? 'origin',
          definition: t.definition,
          comment: t.comment,
        }))
        .sort(byName),
      policies: polOf(r.oid)
        .map((p) => ({
          name: p.name,
          permissive: p.permissive,
          command: POLICY_COMMANDS[p.cmd] ?? p.cmd,
          roles: p.roles,
          using: p.using,
          withCheck: p.with_check,
        }))
        .sort(byName),
      grants: grantsOf(r.oid),
    });
  }

  return {
    schemas: present.map((s) => s.nspname),
    extensions: extensions.sort(byName),
    tables: tables.sort(byKey(relKey)),
    views: views.sort(byKey(relKey)),
    functions: functions
      .map(
        (f): CatalogFunction => ({
          schema: f.schema,
          name: f.name,
          args: f.args,
          result: f.result ?? '',
          kind: FUNCTION_KINDS[f.prokind] ?? 'function',
          language: f.language,
          volatility: VOLATILITY[f.volatility] ?? 'volatile',
          securityDefiner: f.secdef,
          bodyHash: f.src === null ? null : createHash('sha256').update(f.src).digest('hex'),
          comment: f.comment,
        }),
      )
      .sort(byKey(functionKey)),
    sequences: sequences
      .map((s) => ({
        schema: s.schema,
        name: s.name,
        type: s.type,
        start: s.start,
        increment: s.increment,
        min: s.min,
        max: s.max,
        cache: s.cache,
        cycle: s.cycle,
        ownedBy: s.owned_by,
      }))
      .sort(byKey(relKey)),
  };
}

const functionKey = (f: { schema: string; name: string; args: string }) => `${f.schema}.${f.name}(${f.args})`;

const CAST =
  /::(?:"[^"]+"|character varying|double precision|bit varying|(?:timestamp|time)(?:\(\d+\))? with(?:out)? time zone|[A-Za-z_][\w.]*)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*/g;

/**
 * An expression reduced to what a prose data dictionary states: casts removed, grouping
 * parentheses removed (function-call parentheses kept), whitespace collapsed. Two expressions
 * that differ only in how PostgreSQL decorates them normalise to the same text.
 *
 * @example
 *   normalizeExpr("CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))") // → "CHECK status = ANY ARRAY['a', 'b']"
 */
export function normalizeExpr(expr: string): string {
  let out = '';
  const stack: boolean[] = [];
  let quote: string | null = null;
  const src = expr;
  // casts first, outside quotes only: split on quoted runs
  const parts = src.split(/('(?:[^']|'')*'|"(?:[^"]|"")*")/);
  // casts go; "name" quoting of a plain lower-case identifier (e.g. "timestamp") goes too
  const uncast = parts
    .map((p, i) => (i % 2 === 0 ? p.replace(CAST, '') : p.replace(/^"([a-z_][a-z0-9_$]*)"$/, '$1')))
    .join('');
  for (let i = 0; i < uncast.length; i++) {
    const ch = uncast[i]!;
    if (quote) {
      out += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '(') {
      const call = i > 0 && /[A-Za-z0-9_"]/.test(uncast[i - 1]!);
      stack.push(call);
      if (call) out += ch;
    } else if (ch === ')') {
      if (stack.pop()) out += ch;
    } else out += ch;
  }
  return out.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();
}

/**
 * The catalog reduced to what a data dictionary (like legacy-schema.md) can state: expressions
 * normalised ({@link normalizeExpr}), comment texts replaced by a presence marker `(comment)`,
 * and full definitions, function body hashes and extension versions set to null. Compare an
 * expected dictionary-derived catalog with `looseCatalog(await readCatalog(...))`.
 */
export function looseCatalog(c: Catalog): Catalog {
  const mark = (s: string | null) => (s === null ? null : '(comment)');
  // PostgreSQL 12 has gen_random_uuid() only from pgcrypto (installed in public); 13+ has it in
  // pg_catalog. The same function for the dictionary's purposes, so it prints unqualified either way.
  const norm = (s: string | null) =>
    s === null ? null : normalizeExpr(s.replace(/\bpublic\.gen_random_uuid\(\)/g, 'gen_random_uuid()'));
  const idx = (i: CatalogIndex): CatalogIndex => ({
    ...i,
    keys: normalizeExpr(i.keys),
    predicate: norm(i.predicate),
    definition: null,
  });
  return {
    schemas: c.schemas,
    extensions: c.extensions.map((e) => ({ ...e, version: null })),
    tables: c.tables.map((t) => ({
      ...t,
      comment: mark(t.comment),
      columns: t.columns.map((col) => ({
        ...col,
        default: norm(col.default),
        generated: norm(col.generated),
        comment: mark(col.comment),
      })),
      constraints: t.constraints.map((k) => ({
        ...k,
        definition: normalizeExpr(k.definition),
        comment: mark(k.comment),
      })),
      indexes: t.indexes.map(idx),
      triggers: t.triggers.map((tr) => ({ ...tr, definition: null, comment: mark(tr.comment) })),
      policies: t.policies.map((p) => ({ ...p, using: norm(p.using), withCheck: norm(p.withCheck) })),
    })),
    views: c.views.map((v) => ({
      ...v,
      definition: null,
      indexes: v.indexes.map(idx),
      comment: mark(v.comment),
    })),
    functions: c.functions.map((f) => ({ ...f, bodyHash: null, comment: mark(f.comment) })),
    sequences: c.sequences,
  };
}

export interface DiffLabels {
  a: string;
  b: string;
}

/** How list elements are matched between the two sides: by their identity, not their position. */
function elementKey(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  if (typeof o.grantee === 'string') return o.grantee;
  if (typeof o.name !== 'string') return undefined;
  const base = typeof o.schema === 'string' ? `${o.schema}.${o.name}` : o.name;
  return typeof o.args === 'string' ? `${base}(${o.args})` : base;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** Singular names for the lists, so paths read as `table public.x: column y: type`. */
const ITEM: Record<string, string> = {
  tables: 'table',
  views: 'view',
  functions: 'function',
  sequences: 'sequence',
  extensions: 'extension',
  columns: 'column',
  constraints: 'constraint',
  indexes: 'index',
  triggers: 'trigger',
  policies: 'policy',
  grants: 'grant to',
};

function diffInto(
  path: string,
  field: string,
  a: unknown,
  b: unknown,
  labels: DiffLabels,
  out: string[],
): void {
  const at = path ? `${path}: ` : '';
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].every((x) => elementKey(x) !== undefined)) {
    const item = ITEM[field] ?? field;
    const ka = a.map(elementKey) as string[];
    const kb = b.map(elementKey) as string[];
    const mb = new Map(b.map((x, i) => [kb[i]!, x]));
    const ma = new Map(a.map((x, i) => [ka[i]!, x]));
    for (const k of ka) if (!mb.has(k)) out.push(`${at}${item} ${k}: only in ${labels.a}`);
    for (const k of kb) if (!ma.has(k)) out.push(`${at}${item} ${k}: only in ${labels.b}`);
    for (const k of ka) if (mb.has(k)) diffInto(`${at}${item} ${k}`, '', ma.get(k), mb.get(k), labels, out);
    if (field === 'columns') {
      const common = ka.filter((k) => mb.has(k));
      const commonB = kb.filter((k) => ma.has(k));
      if (common.join(',') !== commonB.join(','))
        out.push(
          `${at}column order: ${labels.a} (${common.join(', ')}), ${labels.b} (${commonB.join(', ')})`,
        );
    }
    return;
  }
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const sub = ra[k];
      const subB = rb[k];
      const nested = (typeof sub === 'object' && sub !== null) || (typeof subB === 'object' && subB !== null);
      if (nested && (Array.isArray(sub) || Array.isArray(subB)) && ITEM[k])
        diffInto(path, k, sub, subB, labels, out);
      else diffInto(path ? `${path}: ${k}` : k, k, sub, subB, labels, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b))
    out.push(`${path}: ${labels.a} ${show(a)}, ${labels.b} ${show(b)}`);
}

/**
 * Human-readable differences between two catalogs, one line each; empty when they are equal.
 * List elements are matched by identity (schema.name, function signature, grantee), so a missing
 * or extra object is one line, and a changed one names the object and the field.
 *
 * @example
 *   diffCatalogs(expected, live, { a: 'expected', b: 'live' })
 *   // → ['table public.personas: index idx_personas_type: only in expected',
 *   //    'table auth.sessions: column user_agent_hash: type: expected "character varying(64)", live "text"']
 */
export function diffCatalogs(a: Catalog, b: Catalog, labels: DiffLabels = { a: 'a', b: 'b' }): string[] {
  const out: string[] = [];
  diffInto('', '', a, b, labels, out);
  return out;
}
