/**
 * The effective-privilege matrix: for every role that is not a superuser, what it may do with each
 * relation, column, sequence and function of DomainFlow's schemas (has_*_privilege, so grants via
 * PUBLIC, role membership and WITH GRANT OPTION all count), plus ownership, the RLS switches and
 * every policy. Taken inside the cutover transaction before the moves and again after the carry:
 * any difference on an object present on both sides rolls the cutover back. Objects are named by
 * where the application sees them (`public.campaigns`), so legacy and v2 compare by name.
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';

export interface PrivilegeMatrix {
  /** the roles examined (pass them to the second matrix: a role created meanwhile is not a difference; predefined roles only where an ACL names them) */
  roles: string[];
  /** the examined roles that existed when the matrix was taken */
  present: string[];
  /** objects present (relations, columns, functions), by live name */
  objects: Set<string>;
  /** facts that hold: `object | fact` */
  facts: Set<string>;
}

export interface PrivilegeDifference {
  object: string;
  fact: string;
  before: boolean;
  after: boolean;
}

const TABLE_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
const COLUMN_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'];
const SEQUENCE_PRIVS = ['USAGE', 'SELECT', 'UPDATE'];
const withGrant = (privs: string[]) => privs.flatMap((p) => [p, `${p} WITH GRANT OPTION`]);

/**
 * One query: rows (object, fact) for every fact that holds. `schemas` are physical schemas;
 * `rename` maps a physical schema to the live name objects are reported under (after cutover the
 * rollback copy can be compared with v2 by mapping its schemas to public/auth).
 */
export async function privilegeMatrix(
  c: pg.ClientBase,
  schemas: string[] = ['public', 'auth'],
  rename: Record<string, string> = {},
  roles?: string[],
): Promise<PrivilegeMatrix> {
  const r = await c.query<{ object: string; fact: string | null }>(
    `WITH sch AS (SELECT n.oid, coalesce(($2::jsonb)->>n.nspname, n.nspname) AS live FROM pg_namespace n WHERE n.nspname = ANY ($1)),
     rels AS (SELECT cl.oid, sch.live || '.' || cl.relname AS name, cl.relkind, cl.relrowsecurity, cl.relforcerowsecurity, cl.relowner, cl.relacl
                FROM pg_class cl JOIN sch ON sch.oid = cl.relnamespace WHERE cl.relkind IN ('r','p','v','m','f','S')),
     -- pg_attribute read once, by its index per relation (OFFSET 0 keeps the lateral from being
     -- flattened into a hash join over all of pg_attribute: ~1.4 ms for each use it had)
     cols AS (SELECT rels.oid, rels.name || '.' || a.attname AS name, a.attnum, a.attacl FROM rels,
                LATERAL (SELECT a.attname, a.attnum, a.attacl FROM pg_attribute a
                          WHERE a.attrelid = rels.oid AND a.attnum > 0 AND NOT a.attisdropped OFFSET 0) a
               WHERE rels.relkind <> 'S'),
     fns AS (SELECT p.oid, sch.live || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name, p.proacl
               FROM pg_proc p JOIN sch ON sch.oid = p.pronamespace
              WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')),
     -- the roles examined: the first matrix's (so a role created meanwhile is not a difference) or
     -- every role that is not a superuser; and any predefined role (pg_monitor, pg_read_all_data, …:
     -- oid below FirstNormalObjectId, 16384) that an ACL of the objects examined, or a default ACL,
     -- names. One no ACL names holds privileges only by its built-in meaning, the same before and
     -- after any move: leaving those out takes ~17 roles down to the few that can differ
     acls AS (SELECT relacl AS acl FROM rels WHERE relacl IS NOT NULL
              UNION ALL SELECT attacl FROM cols WHERE attacl IS NOT NULL
              UNION ALL SELECT proacl FROM fns WHERE proacl IS NOT NULL
              UNION ALL SELECT d.defaclacl FROM pg_default_acl d),
     roles AS (SELECT ro.oid, ro.rolname FROM pg_roles ro
                WHERE NOT ro.rolsuper
                  AND (CASE WHEN $6::text[] IS NULL THEN ro.oid >= 16384 ELSE ro.rolname = ANY ($6) END
                       OR (ro.oid < 16384 AND ro.oid IN (SELECT (aclexplode(acl)).grantee FROM acls))))
     SELECT 'role' AS object, rolname::text AS fact FROM roles
     UNION ALL SELECT 'rel ' || name, NULL FROM rels
     UNION ALL SELECT 'rel ' || name, 'owner ' || pg_get_userbyid(relowner) FROM rels
     UNION ALL SELECT 'rel ' || name, 'rls enabled' FROM rels WHERE relrowsecurity
     UNION ALL SELECT 'rel ' || name, 'rls forced' FROM rels WHERE relforcerowsecurity
     UNION ALL SELECT 'rel ' || rels.name, format('policy %s %s %s to %s using %s check %s', po.policyname, po.permissive, po.cmd,
                        (SELECT string_agg(x, ',' ORDER BY x) FROM unnest(po.roles) x), coalesce(po.qual, '-'), coalesce(po.with_check, '-'))
                 FROM rels JOIN pg_class cl ON cl.oid = rels.oid JOIN pg_namespace n ON n.oid = cl.relnamespace
                 JOIN pg_policies po ON po.schemaname = n.nspname AND po.tablename = cl.relname
     UNION ALL SELECT 'rel ' || rels.name, r.rolname || ' ' || p FROM rels, roles r, unnest($3::text[]) p
                WHERE rels.relkind <> 'S' AND has_table_privilege(r.oid, rels.oid, p)
     UNION ALL SELECT 'rel ' || rels.name, r.rolname || ' ' || p FROM rels, roles r, unnest($4::text[]) p
                WHERE rels.relkind = 'S' AND has_sequence_privilege(r.oid, rels.oid, p)
     UNION ALL SELECT 'col ' || name, NULL FROM cols
     -- column facts only where they say more than the table-level privilege: a column grant, so
     -- only columns with an ACL (has_column_privilege is the table's privilege on the others)
     UNION ALL SELECT 'col ' || cols.name, r.rolname || ' ' || p FROM cols, roles r, unnest($5::text[]) p
                WHERE cols.attacl IS NOT NULL AND has_column_privilege(r.oid, cols.oid, cols.attnum, p)
                  AND NOT has_table_privilege(r.oid, cols.oid, p)
     UNION ALL SELECT 'fn ' || name, NULL FROM fns
     UNION ALL SELECT 'fn ' || fns.name, r.rolname || ' ' || p FROM fns, roles r, unnest(ARRAY['EXECUTE', 'EXECUTE WITH GRANT OPTION']) p
                WHERE has_function_privilege(r.oid, fns.oid, p)
     UNION ALL SELECT 'default acl', format('%s %s %s %s', pg_get_userbyid(d.defaclrole), coalesce(d.defaclnamespace::regnamespace::text, '*'),
                        d.defaclobjtype, d.defaclacl::text) FROM pg_default_acl d`,
    [
      schemas,
      JSON.stringify(rename),
      withGrant(TABLE_PRIVS),
      withGrant(SEQUENCE_PRIVS),
      withGrant(COLUMN_PRIVS),
      roles ?? null,
    ],
  );
  const objects = new Set<string>(['default acl']);
  const facts = new Set<string>();
  const present: string[] = [];
  for (const row of r.rows) {
    if (row.object === 'role') present.push(row.fact as string);
    else if (row.fact === null) objects.add(row.object);
    else facts.add(`${row.object} | ${row.fact}`);
  }
  return { roles: roles ?? present.sort(), present, objects, facts };
}

/** Differences on objects present in both matrices (v2-only or legacy-only objects have nothing to compare). */
export function diffMatrices(before: PrivilegeMatrix, after: PrivilegeMatrix): PrivilegeDifference[] {
  // roles are cluster-wide: one dropped (or created) by someone else between the two matrices is
  // not a privilege the cutover changed, so its facts are left out of the comparison
  const gone = before.present.filter((r) => !after.present.includes(r));
  const about = (fact: string, role: string) => fact.slice(fact.indexOf(' | ') + 3).startsWith(`${role} `);
  const both = (fact: string) => {
    const object = fact.slice(0, fact.indexOf(' | '));
    return before.objects.has(object) && after.objects.has(object) && !gone.some((role) => about(fact, role));
  };
  const out: PrivilegeDifference[] = [];
  const split = (f: string) => ({
    object: f.slice(0, f.indexOf(' | ')),
    fact: f.slice(f.indexOf(' | ') + 3),
  });
  for (const f of before.facts)
    if (!after.facts.has(f) && both(f)) out.push({ ...split(f), before: true, after: false });
  for (const f of after.facts)
    if (!before.facts.has(f) && both(f)) out.push({ ...split(f), before: false, after: true });
  return out.sort((a, b) => `${a.object} ${a.fact}`.localeCompare(`${b.object} ${b.fact}`));
}

/** Inside the cutover transaction: any difference is a coded error (the caller rolls back). */
export async function assertSamePrivileges(before: PrivilegeMatrix, after: PrivilegeMatrix): Promise<void> {
  const diff = diffMatrices(before, after);
  if (diff.length === 0) return;
  const shown = diff
    .slice(0, 15)
    .map((d) => `${d.object}: ${d.fact} ${d.before ? 'lost' : 'gained'}`)
    .join('; ');
  throw new DfcError(
    'CONSOLIDATION_01',
    `cutover would change what roles may do: ${diff.length} difference(s) in effective privileges, RLS or policies: ${shown}${diff.length > 15 ? '; …' : ''}; rolled back, nothing changed`,
    {
      fix: 'the full list is in --json details (privilegeDifferences); grant or revoke so legacy states what v2 should have, or report the object dfc did not carry, then run `dfc cutover` again',
      details: { privilegeDifferences: diff },
    },
  );
}

/**
 * `dfc verify`: for every role, v2 (public/auth) grants exactly what the rollback copy (legacy as
 * it was) grants — relations, columns, sequences, ownership, RLS and policies, compared by name.
 */
export async function privilegesMatchRollbackCopy(
  c: pg.ClientBase,
  rollbackSchemas: Record<string, string>,
): Promise<{ category: 'consistency'; check: string; passed: boolean; details?: unknown }> {
  const rename = Object.fromEntries(Object.entries(rollbackSchemas).map(([l, r]) => [r, l]));
  // the side diffed as "before" is taken first: the second examines its roles, so a predefined
  // role only the copy's ACLs name is examined on v2 too (not taken for a role dropped meanwhile)
  const copy = await privilegeMatrix(c, Object.values(rollbackSchemas), rename);
  const live = await privilegeMatrix(c, Object.keys(rollbackSchemas), {}, copy.roles);
  const diff = diffMatrices(copy, live);
  return {
    category: 'consistency',
    check: 'effective privileges, RLS and policies of every role equal the rollback copy',
    passed: diff.length === 0,
    details: diff.length ? diff.slice(0, 50) : undefined,
  };
}
