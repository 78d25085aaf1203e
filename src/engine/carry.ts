/**
 * What the application and other tenants rely on besides the rows, read from the live catalog
 * inside the cutover transaction before the moves and re-applied to the v2 relation of the same
 * name after them: ownership, privileges (table, column, sequence; WITH GRANT OPTION kept), RLS
 * switches and policies, comments v2 has none for, storage options and statistics targets the
 * DBA set, publication membership, and other applications' triggers, rules and views on
 * DomainFlow tables. Functions keep their ACL and owner by themselves (CREATE OR REPLACE), default
 * privileges are per schema and role and do not move. Whatever cannot be recreated on v2 (a
 * trigger naming a column v2 dropped, a view whose column types change) is collected and the
 * cutover refuses, naming each object and the fix; nothing is left behind silently.
 */
import type pg from 'pg';
import { capabilitiesOf, isCatalogRace } from '../db/session.js';
import { DfcError } from '../errors.js';
import { build, literal, quoteIdent } from '../sql/sql.js';
import { DOMAINFLOW_TRIGGERS, DOMAINFLOW_VIEWS } from '../validate/checks.js';
import { ROLLBACK_SCHEMA, SHADOW_SCHEMA } from './names.js';

interface AclItem {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

interface RelSurface {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  owner: string;
  acl: AclItem[] | null;
  columnAcls: (AclItem & { column: string })[] | null;
  rls: boolean;
  forceRls: boolean;
  reloptions: string[] | null;
  toastOptions: string[] | null;
  comment: string | null;
  columnComments: { column: string; comment: string }[] | null;
  statTargets: { column: string; target: number }[] | null;
  publications: { pub: string; rowFilter: string | null; columns: string[] | null }[] | null;
}

interface ForeignObject {
  kind: 'trigger' | 'rule' | 'policy' | 'view' | 'foreign key';
  /** quoted, qualified name for messages */
  name: string;
  on: string;
  /** statement that recreates it once v2 is in place (names resolve to v2 then) */
  ddl: string;
  extra?: string;
}

export interface Surface {
  rels: RelSurface[];
  foreign: ForeignObject[];
  /** back: `schema.table` of the tables whose RLS switches are v2's own (the copy keeps its own) */
  ownRls?: string[];
}

export interface CarryResult {
  relations: number;
  grants: number;
  carried: { kind: string; name: string }[];
  /** back: column grants on columns the legacy table does not have (v2-only columns), not carried */
  skipped?: { kind: string; name: string }[];
}

const lit = (v: string) => build(literal(v)).text;
const grantee = (g: string) => (g === 'PUBLIC' ? 'PUBLIC' : quoteIdent(g));
const qn = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
const KIND_WORD: Record<string, string> = {
  r: 'TABLE',
  p: 'TABLE',
  v: 'VIEW',
  m: 'MATERIALIZED VIEW',
  S: 'SEQUENCE',
  f: 'FOREIGN TABLE',
};

/** A relation's ACL and column ACLs (owner's own entries left out), as the surface holds them; `cl` is its pg_class row. */
const ACLS_OF_CL = `(SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type, 'grantable', a.is_grantable))
                 FROM aclexplode(cl.relacl) a WHERE a.grantee <> cl.relowner) AS acl,
              (SELECT jsonb_agg(jsonb_build_object('column', at.attname, 'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type, 'grantable', a.is_grantable))
                 FROM pg_attribute at, aclexplode(at.attacl) a
                WHERE at.attrelid = cl.oid AND at.attnum > 0 AND NOT at.attisdropped AND at.attacl IS NOT NULL) AS "columnAcls"`;

/** Order-free form of an ACL list, for comparing two reads. */
const aclKey = (items: object[] | null) =>
  JSON.stringify((items ?? []).map((i) => JSON.stringify(i, Object.keys(i).sort())).sort());

/**
 * PostgreSQL before 18 lets GRANT and REVOKE through a relation's ACCESS EXCLUSIVE lock (they
 * update pg_class / pg_attribute without locking the relation; 18 waits for the lock). One
 * committed after the surface was proved under the locks would be missing on the other side,
 * and the privilege matrices would not see it (both taken from that surface). So, at the end of
 * the locked transaction: the source relations' ACLs, by oid, must still be what the surface
 * read. Otherwise a serialization failure (40001): the whole transaction is retried and the next
 * attempt reads the surface again. Returns the relations checked.
 */
export async function assertAclsUnchanged(c: pg.ClientBase, s: Surface): Promise<number> {
  if (s.rels.length === 0) return 0;
  const now = await c.query<Pick<RelSurface, 'oid' | 'acl' | 'columnAcls'>>(
    `SELECT cl.oid::int AS oid, ${ACLS_OF_CL} FROM pg_catalog.pg_class cl WHERE cl.oid = ANY ($1::oid[])`,
    [s.rels.map((r) => r.oid)],
  );
  const byOid = new Map(now.rows.map((r) => [r.oid, r]));
  const changed = s.rels.filter((r) => {
    const n = byOid.get(r.oid);
    return !n || aclKey(n.acl) !== aclKey(r.acl) || aclKey(n.columnAcls) !== aclKey(r.columnAcls);
  });
  if (changed.length)
    throw Object.assign(
      new Error(
        `a GRANT or REVOKE on ${changed.map((r) => `${r.schema}.${r.name}`).join(', ')} committed while the locks were held (PostgreSQL before 18 does not wait for them); the transaction is retried with the surface read again`,
      ),
      { code: '40001' },
    );
  return s.rels.length;
}

/**
 * Read the surface of every relation in public/auth that v2 replaces (its name exists in a
 * shadow schema), and every foreign object attached to the legacy tables. Before the moves.
 */
export interface CarryOptions {
  /**
   * Rollback (carry back, engine/carry-back.ts): the live relations are v2's and their counterparts
   * the rollback copy, which kept its own owner, ACL, RLS, triggers and policies from before the
   * cutover; only what followed v2 (other applications' views and foreign keys, publication
   * membership, triggers/rules/policies made during the window) goes back.
   */
  back?: boolean;
  /** `schema.table.trigger` / `schema.table.policy` keys that belong to the live side's own schema (v2's, when back) */
  ownTriggers?: string[];
  ownPolicies?: string[];
  /** `schema.name` of views that belong to the live side's schema (v2's, when back) */
  ownViews?: string[];
  /** `schema.table` of tables whose row-level security v2 defines itself (back: not carried) */
  ownRls?: string[];
}

export async function readSurface(
  c: pg.ClientBase,
  legacyTables: string[],
  opts: CarryOptions = {},
): Promise<Surface> {
  // fully qualified deparsing: the definitions are replayed after the moves
  const prev = await c.query<{ p: string }>(`SELECT current_setting('search_path') AS p`);
  await c.query(`SET LOCAL search_path = pg_catalog`);
  try {
    const counterparts = Object.values(opts.back ? ROLLBACK_SCHEMA : SHADOW_SCHEMA);
    // row filters and column lists of publications exist from PostgreSQL 15 (pg_publication_rel.prqual/prattrs)
    const v = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
    const publicationFilters = capabilitiesOf(v.rows[0]!.v).publicationRowFilters
      ? `'rowFilter', pg_get_expr(pr.prqual, pr.prrelid),
                        'columns', (SELECT jsonb_agg(at.attname ORDER BY at.attnum) FROM pg_attribute at
                                     WHERE at.attrelid = cl.oid AND at.attnum = ANY (pr.prattrs::int2[]))`
      : `'rowFilter', NULL, 'columns', NULL`;
    const rels = await c.query<RelSurface>(
      `SELECT cl.oid::int AS oid, n.nspname AS schema, cl.relname AS name, cl.relkind AS kind, pg_get_userbyid(cl.relowner) AS owner,
              ${ACLS_OF_CL},
              cl.relrowsecurity AS rls, cl.relforcerowsecurity AS "forceRls", cl.reloptions,
              (SELECT t.reloptions FROM pg_class t WHERE t.oid = cl.reltoastrelid) AS "toastOptions",
              obj_description(cl.oid, 'pg_class') AS comment,
              (SELECT jsonb_agg(jsonb_build_object('column', at.attname, 'comment', d.description))
                 FROM pg_attribute at JOIN pg_description d ON d.objoid = cl.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = at.attnum
                WHERE at.attrelid = cl.oid AND at.attnum > 0) AS "columnComments",
              (SELECT jsonb_agg(jsonb_build_object('column', at.attname, 'target', at.attstattarget))
                 FROM pg_attribute at WHERE at.attrelid = cl.oid AND at.attnum > 0 AND NOT at.attisdropped AND at.attstattarget >= 0) AS "statTargets",
              (SELECT jsonb_agg(jsonb_build_object('pub', p.pubname, ${publicationFilters}))
                 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = cl.oid) AS publications
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname IN ('public', 'auth') AND cl.relkind IN ('r','p','v','m','S','f')
          AND EXISTS (SELECT 1 FROM pg_class sc JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                       WHERE sc.relname = cl.relname AND sn.nspname = ($2 || n.nspname) AND sn.nspname = ANY ($1))`,
      [counterparts, opts.back ? 'dfc_rollback_' : 'dfc_shadow_'],
    );
    const foreign = await readForeign(c, legacyTables, opts);
    return { rels: rels.rows, foreign, ...(opts.back ? { ownRls: opts.ownRls ?? [] } : {}) };
  } finally {
    await c.query(`SELECT set_config('search_path', $1, true)`, [prev.rows[0]!.p]);
  }
}

async function readForeign(
  c: pg.ClientBase,
  legacyTables: string[],
  opts: CarryOptions,
): Promise<ForeignObject[]> {
  const out: ForeignObject[] = [];
  const prefix = opts.back ? 'dfc_rollback_' : 'dfc_shadow_';
  const own = new Set([...(opts.back ? [] : DOMAINFLOW_TRIGGERS), ...(opts.ownTriggers ?? [])]);
  // `onTarget`: the relation the statement will land on already has a trigger of that name
  const trg = await c.query<{
    name: string;
    on: string;
    ddl: string;
    enabled: string;
    key: string;
    onTarget: boolean;
    sameOnTarget: boolean;
  }>(
    `SELECT quote_ident(t.tgname) AS name, format('%I.%I', n.nspname, cl.relname) AS on, pg_get_triggerdef(t.oid) AS ddl,
            t.tgenabled AS enabled, n.nspname || '.' || cl.relname || '.' || t.tgname AS key,
            EXISTS (SELECT 1 FROM pg_trigger x JOIN pg_class xc ON xc.oid = x.tgrelid JOIN pg_namespace xn ON xn.oid = xc.relnamespace
                     WHERE xn.nspname = $2 || n.nspname AND xc.relname = cl.relname AND x.tgname = t.tgname) AS "onTarget",
            EXISTS (SELECT 1 FROM pg_trigger x JOIN pg_class xc ON xc.oid = x.tgrelid JOIN pg_namespace xn ON xn.oid = xc.relnamespace
                     WHERE xn.nspname = $2 || n.nspname AND xc.relname = cl.relname AND x.tgname = t.tgname
                       AND x.tgfoid = t.tgfoid) AS "sameOnTarget"
       FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND n.nspname || '.' || cl.relname = ANY ($1) AND pn.nspname <> 'consolidation'`,
    [legacyTables, prefix],
  );
  for (const t of trg.rows) {
    if (own.has(t.key)) continue;
    // back: the rollback copy kept the original of every trigger the cutover carried
    if (opts.back && t.onTarget) continue;
    const state = { D: 'DISABLE', A: 'ENABLE ALWAYS', R: 'ENABLE REPLICA' }[t.enabled];
    const extra = state ? `ALTER TABLE ${t.on} ${state} TRIGGER ${t.name}` : undefined;
    // forward again (after a rollback): v2 still has the copy carried the first time (same name,
    // same function); replace it. A v2 trigger of that name calls v2's function: CREATE refuses it.
    const ddl =
      !opts.back && t.sameOnTarget ? `DROP TRIGGER IF EXISTS ${t.name} ON ${t.on}; ${t.ddl}` : t.ddl;
    out.push({ kind: 'trigger', name: t.name, on: t.on, ddl, extra });
  }
  const rules = await c.query<{ name: string; on: string; ddl: string; onTarget: boolean }>(
    `SELECT quote_ident(rw.rulename) AS name, format('%I.%I', n.nspname, cl.relname) AS on, pg_get_ruledef(rw.oid) AS ddl,
            EXISTS (SELECT 1 FROM pg_rewrite x JOIN pg_class xc ON xc.oid = x.ev_class JOIN pg_namespace xn ON xn.oid = xc.relnamespace
                     WHERE xn.nspname = $2 || n.nspname AND xc.relname = cl.relname AND x.rulename = rw.rulename) AS "onTarget"
       FROM pg_rewrite rw JOIN pg_class cl ON cl.oid = rw.ev_class JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE rw.rulename <> '_RETURN' AND n.nspname || '.' || cl.relname = ANY ($1)`,
    [legacyTables, prefix],
  );
  for (const r of rules.rows) {
    if (opts.back && r.onTarget) continue;
    // pg_get_ruledef starts 'CREATE RULE': replace the copy a first cutover left on v2
    const ddl = r.ddl.startsWith('CREATE RULE ') ? `CREATE OR REPLACE RULE ${r.ddl.slice(12)}` : r.ddl;
    out.push({ kind: 'rule', name: r.name, on: r.on, ddl });
  }
  // every policy on a legacy table that v2 does not define itself (by name)
  const pol = await c.query<{ name: string; on: string; ddl: string }>(
    `SELECT quote_ident(po.policyname) AS name, format('%I.%I', po.schemaname, po.tablename) AS on,
            format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s%s%s', po.policyname, po.schemaname, po.tablename, po.permissive, po.cmd,
                   (SELECT string_agg(CASE WHEN x = 'public' THEN 'PUBLIC' ELSE quote_ident(x) END, ', ') FROM unnest(po.roles) x),
                   CASE WHEN po.qual IS NOT NULL THEN ' USING (' || po.qual || ')' ELSE '' END,
                   CASE WHEN po.with_check IS NOT NULL THEN ' WITH CHECK (' || po.with_check || ')' ELSE '' END) AS ddl
       FROM pg_policies po
      WHERE po.schemaname || '.' || po.tablename = ANY ($1)
        AND NOT EXISTS (SELECT 1 FROM pg_policy sp JOIN pg_class sc ON sc.oid = sp.polrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                         WHERE sn.nspname = $2 || po.schemaname AND sc.relname = po.tablename AND sp.polname = po.policyname)
        AND NOT (po.schemaname || '.' || po.tablename || '.' || po.policyname = ANY ($3))`,
    [legacyTables, prefix, opts.ownPolicies ?? []],
  );
  for (const p of pol.rows) out.push({ kind: 'policy', name: p.name, on: p.on, ddl: p.ddl });
  if (opts.back) {
    // a policy the copy has and v2 no longer has (not one of v2's own): dropped on v2 during the window
    const dropped = await c.query<{ name: string; on: string }>(
      `SELECT quote_ident(cp.policyname) AS name, format('%I.%I', substr(cp.schemaname, length($2) + 1), cp.tablename) AS on
         FROM pg_policies cp
        WHERE substr(cp.schemaname, length($2) + 1) || '.' || cp.tablename = ANY ($1) AND cp.schemaname LIKE $2 || '%'
          AND NOT EXISTS (SELECT 1 FROM pg_policies lp WHERE lp.schemaname = substr(cp.schemaname, length($2) + 1)
                           AND lp.tablename = cp.tablename AND lp.policyname = cp.policyname)`,
      [legacyTables, prefix],
    );
    for (const p of dropped.rows)
      out.push({ kind: 'policy', name: p.name, on: p.on, ddl: `DROP POLICY IF EXISTS ${p.name} ON ${p.on}` });
  }
  // views of other applications over legacy tables (DomainFlow's own views are rebuilt by v2)
  const views = await c.query<{ name: string; on: string; ddl: string; key: string }>(
    `SELECT DISTINCT format('%I.%I', vn.nspname, v.relname) AS name, format('%I.%I', rn.nspname, ref.relname) AS on,
            v.relkind AS kind, vn.nspname || '.' || v.relname AS key,
            format('CREATE OR REPLACE VIEW %I.%I%s AS %s', vn.nspname, v.relname,
                   CASE WHEN v.reloptions IS NOT NULL THEN ' WITH (' || array_to_string(v.reloptions, ', ') || ')' ELSE '' END,
                   pg_get_viewdef(v.oid)) AS ddl
       FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
       JOIN pg_class v ON v.oid = rw.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_class ref ON ref.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass JOIN pg_namespace rn ON rn.oid = ref.relnamespace
      WHERE rn.nspname || '.' || ref.relname = ANY ($1) AND v.oid <> ref.oid
        AND vn.nspname NOT LIKE 'dfc\\_%'`,
    [legacyTables],
  );
  const seen = new Set<string>();
  for (const v of views.rows) {
    if (DOMAINFLOW_VIEWS.includes(v.key) || opts.ownViews?.includes(v.key) || seen.has(v.key)) continue;
    seen.add(v.key);
    out.push({ kind: 'view', name: v.name, on: v.on, ddl: v.ddl });
  }
  // other applications' foreign keys to a legacy table: re-pointed at v2, NOT VALID then VALIDATE
  const fks = await c.query<{ name: string; on: string; tbl: string; def: string }>(
    `SELECT quote_ident(k.conname) AS name, format('%I.%I', rn.nspname, ref.relname) AS on,
            format('%I.%I', n.nspname, cl.relname) AS tbl, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
       JOIN pg_class ref ON ref.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = ref.relnamespace
      WHERE k.contype = 'f' AND rn.nspname || '.' || ref.relname = ANY ($1)
        AND NOT (n.nspname || '.' || cl.relname = ANY ($1)) AND n.nspname NOT LIKE 'dfc\\_%'`,
    [legacyTables],
  );
  for (const k of fks.rows)
    out.push({
      kind: 'foreign key',
      name: `${k.tbl}.${k.name}`,
      on: k.on,
      ddl: `ALTER TABLE ${k.tbl} DROP CONSTRAINT ${k.name}; ALTER TABLE ${k.tbl} ADD CONSTRAINT ${k.name} ${k.def} NOT VALID`,
      extra: `ALTER TABLE ${k.tbl} VALIDATE CONSTRAINT ${k.name}`,
    });
  return out;
}

/**
 * Re-apply the surface to the v2 relations now in place. Throws (the caller rolls back) on anything it cannot carry.
 * Built from one catalog query and sent as one multi-statement query inside a savepoint; only when
 * that fails are the statements replayed one by one (each uncarriable one in a savepoint of its
 * own), so every failure is named, exactly as before.
 */
export async function applySurface(
  c: pg.ClientBase,
  s: Surface,
  opts: Pick<CarryOptions, 'back'> = {},
): Promise<CarryResult> {
  let grants = 0;
  let relations = 0;
  const skipped: { kind: string; name: string }[] = [];
  /** what: set for a statement that may fail on v2 (named in the refusal); afterwards: runs only when it succeeded */
  const plan: { sql: string; what?: { kind: string; name: string; on: string }; afterwards?: string }[] = [];
  /** the relation that moved out leaves the publication: subscribers keep receiving the table by its name */
  const movePublication = (
    r: RelSurface,
    p: NonNullable<RelSurface['publications']>[number],
    movedTo: Record<string, string>,
  ) => {
    const rel = qn(r.schema, r.name);
    const out = qn(movedTo[r.schema as 'public' | 'auth']!, r.name);
    const cols = p.columns?.length ? ` (${p.columns.map(quoteIdent).join(', ')})` : '';
    const where = p.rowFilter ? ` WHERE (${p.rowFilter})` : '';
    plan.push({
      what: { kind: 'publication', name: quoteIdent(p.pub), on: rel },
      sql: `ALTER PUBLICATION ${quoteIdent(p.pub)} DROP TABLE ${out}; ALTER PUBLICATION ${quoteIdent(p.pub)} ADD TABLE ${rel}${cols}${where}`,
    });
  };
  // what is at each name now, in one query: kind, whether a sequence is owned by a column, the
  // grantees of v2's install ACL, its comment, its columns without a comment
  const now = await c.query<{
    oid: number | null;
    kind: string | null;
    owned: boolean;
    grantees: string[] | null;
    rls: boolean;
    forceRls: boolean;
    columns: string[] | null;
    commented: boolean;
    uncommented: string[] | null;
  }>(
    `SELECT cl.oid::int AS oid, cl.relkind AS kind,
            EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = cl.oid AND d.deptype IN ('a','i')
                      AND d.refclassid = 'pg_class'::regclass) AS owned,
            -- table and column ACLs (REVOKE ALL ON TABLE revokes the column privileges too)
            (SELECT jsonb_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END)
               FROM (SELECT cl.relacl AS acl UNION ALL
                     SELECT at.attacl FROM pg_attribute at WHERE at.attrelid = cl.oid AND at.attnum > 0 AND at.attacl IS NOT NULL) x,
                    aclexplode(x.acl) a WHERE a.grantee <> cl.relowner) AS grantees,
            cl.relrowsecurity AS rls, cl.relforcerowsecurity AS "forceRls",
            (SELECT jsonb_agg(a.attname) FROM pg_attribute a WHERE a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            -- pg_description directly: obj_/col_description are SQL functions run per call (under the
            -- locks, ~300 columns made them 3.5 ms of this query's 6.3)
            EXISTS (SELECT 1 FROM pg_description d WHERE d.objoid = cl.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0) AS commented,
            (SELECT jsonb_agg(a.attname) FROM pg_attribute a
              WHERE a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND NOT EXISTS (SELECT 1 FROM pg_description d WHERE d.objoid = cl.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum)) AS uncommented
       FROM unnest($1::text[]) WITH ORDINALITY AS x(name, i) LEFT JOIN pg_class cl ON cl.oid = to_regclass(x.name)
      ORDER BY x.i`,
    [s.rels.map((r) => qn(r.schema, r.name))],
  );
  s.rels.forEach((r, i) => {
    const v2 = now.rows[i];
    if (!v2?.oid || v2.oid === r.oid) return; // not replaced by v2
    relations++;
    const rel = qn(r.schema, r.name);
    const word = KIND_WORD[v2.kind!] ?? 'TABLE';
    // an owned sequence follows its table's owner
    if (!(v2.kind === 'S' && v2.owned))
      plan.push({ sql: `ALTER ${word} ${rel} OWNER TO ${quoteIdent(r.owner)}` });
    // exactly the source's ACL: first what the target grants to others, then the source's entries
    const on = v2.kind === 'S' ? `SEQUENCE ${rel}` : `TABLE ${rel}`;
    // (computed before the owner change: its entries for the new owner become the owner's own then)
    for (const g of v2.grantees ?? [])
      if (g !== r.owner) plan.push({ sql: `REVOKE ALL ON ${on} FROM ${grantee(g)}` });
    for (const a of r.acl ?? []) {
      plan.push({
        sql: `GRANT ${a.privilege} ON ${on} TO ${grantee(a.grantee)}${a.grantable ? ' WITH GRANT OPTION' : ''}`,
      });
      grants++;
    }
    const targetColumns = new Set(v2.columns ?? []);
    for (const a of r.columnAcls ?? []) {
      const name = `${a.privilege} (${quoteIdent(a.column)}) to ${grantee(a.grantee)}`;
      // back: a grant on a column v2 added has nothing to land on in legacy
      if (opts.back && !targetColumns.has(a.column)) {
        skipped.push({ kind: 'column grant', name: `${name} on ${rel}` });
        continue;
      }
      plan.push({
        what: { kind: 'column grant', name, on: rel },
        sql: `GRANT ${a.privilege} (${quoteIdent(a.column)}) ON TABLE ${rel} TO ${grantee(a.grantee)}${a.grantable ? ' WITH GRANT OPTION' : ''}`,
      });
      grants++;
    }
    if (opts.back) {
      // v2's RLS switches as they are now (a change during the window goes back), unless v2 defines them
      if ((v2.kind === 'r' || v2.kind === 'p') && !s.ownRls?.includes(`${r.schema}.${r.name}`)) {
        if (r.rls !== v2.rls)
          plan.push({ sql: `ALTER TABLE ${rel} ${r.rls ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY` });
        if (r.forceRls !== v2.forceRls)
          plan.push({ sql: `ALTER TABLE ${rel} ${r.forceRls ? 'FORCE' : 'NO FORCE'} ROW LEVEL SECURITY` });
      }
      // the copy kept its own options and comments; publication membership followed v2
      for (const p of r.publications ?? []) movePublication(r, p, SHADOW_SCHEMA);
      return;
    }
    if (v2.kind === 'r' || v2.kind === 'p') {
      if (r.rls) plan.push({ sql: `ALTER TABLE ${rel} ENABLE ROW LEVEL SECURITY` });
      if (r.forceRls) plan.push({ sql: `ALTER TABLE ${rel} FORCE ROW LEVEL SECURITY` });
      const options = [...(r.reloptions ?? []), ...(r.toastOptions ?? []).map((o) => `toast.${o}`)];
      if (options.length) {
        const list = options.map((o) => {
          const eq = o.indexOf('=');
          const key = o.slice(0, eq).split('.').map(quoteIdent).join('.');
          return `${key} = ${lit(o.slice(eq + 1))}`;
        });
        plan.push({ sql: `ALTER TABLE ${rel} SET (${list.join(', ')})` });
      }
      for (const st of r.statTargets ?? [])
        plan.push({
          what: { kind: 'statistics target', name: quoteIdent(st.column), on: rel },
          sql: `ALTER TABLE ${rel} ALTER COLUMN ${quoteIdent(st.column)} SET STATISTICS ${Math.trunc(Number(st.target))}`,
        });
      for (const p of r.publications ?? []) movePublication(r, p, ROLLBACK_SCHEMA);
    }
    if (r.comment && !v2.commented) plan.push({ sql: `COMMENT ON ${word} ${rel} IS ${lit(r.comment)}` });
    const uncommented = new Set(v2.uncommented ?? []);
    for (const cc of r.columnComments ?? [])
      if (uncommented.has(cc.column))
        plan.push({ sql: `COMMENT ON COLUMN ${rel}.${quoteIdent(cc.column)} IS ${lit(cc.comment)}` });
  });
  for (const f of s.foreign) plan.push({ what: f, sql: f.ddl, afterwards: f.extra });
  const carried = s.foreign.map((f) => ({ kind: f.kind, name: `${f.name} on ${f.on}` }));

  // the fast path: everything in one round trip
  await c.query('SAVEPOINT dfc_carry_all');
  try {
    if (plan.length)
      await c.query(plan.flatMap((p) => (p.afterwards ? [p.sql, p.afterwards] : [p.sql])).join(';\n'));
    await c.query('RELEASE SAVEPOINT dfc_carry_all');
    return { relations, grants, carried, ...(skipped.length ? { skipped } : {}) };
  } catch {
    await c.query('ROLLBACK TO SAVEPOINT dfc_carry_all');
    await c.query('RELEASE SAVEPOINT dfc_carry_all');
  }
  // something failed: one by one, so each object that cannot be carried is named
  const failures: { kind: string; name: string; on: string; error: string }[] = [];
  const attempt = async (what: { kind: string; name: string; on: string }, sqlText: string) => {
    await c.query('SAVEPOINT dfc_carry');
    try {
      await c.query(sqlText);
      await c.query('RELEASE SAVEPOINT dfc_carry');
      return true;
    } catch (e) {
      // a GRANT beside us won the catalog row: not the object's fault; the attempt is retried whole
      if (isCatalogRace(e)) throw e;
      await c.query('ROLLBACK TO SAVEPOINT dfc_carry');
      failures.push({
        kind: what.kind,
        name: what.name,
        on: what.on,
        error: e instanceof Error ? e.message : String(e),
      });
      return false;
    }
  };
  for (const p of plan) {
    if (!p.what) {
      await c.query(p.sql); // a statement v2 must take: its error is the error
      continue;
    }
    if (!(await attempt(p.what, p.sql))) {
      if (p.what.kind === 'column grant') grants--;
      continue;
    }
    if (p.afterwards) await attempt(p.what, p.afterwards);
  }
  if (failures.length)
    throw new DfcError(
      'CONSOLIDATION_01',
      `cutover cannot carry ${failures.length} object(s) the application or other tenants rely on to v2: ${failures
        .map((f) => `${f.kind} ${f.name} on ${f.on} (${f.error})`)
        .join('; ')}; rolled back, nothing changed`,
      {
        fix: `adapt or drop each object listed so it is valid against the v2 table (e.g. DROP TRIGGER ${failures[0]!.name} ON ${failures[0]!.on}; recreate it after cutover against the v2 columns), then run \`dfc cutover\` again`,
        details: { notCarried: failures },
      },
    );
  return { relations, grants, carried, ...(skipped.length ? { skipped } : {}) };
}
