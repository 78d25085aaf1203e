/**
 * An instrument, independent of the engine (imports only `pg`): what given roles may do and see,
 * read from has_*_privilege and by querying as each role. Snapshots taken before consolidate and
 * after cutover/rollback are compared on the objects present in both (v2 adds and drops some):
 * the facts must be identical. The engine has its own matrix (src/engine/privileges.ts); this one
 * exists so a bug shared by both cannot hide.
 */
import pg from 'pg';

export interface AccessSnapshot {
  /** 'object' → sorted list of 'role privilege' facts that hold on it */
  facts: Record<string, string[]>;
  /** every object that exists (relations, columns, sequences, functions, schemas), facts or not */
  objects: string[];
  /** role → rows it sees of each probed table under RLS, as sorted 'id name' lines */
  visible: Record<string, Record<string, string[]>>;
  /** role → whether it sees exactly the rows the superuser sees of each probed table */
  seesAll: Record<string, Record<string, boolean>>;
  /** table → relrowsecurity/relforcerowsecurity and the policy names */
  rls: Record<string, string>;
}

const TABLE_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
const COLUMN_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'];
const SEQ_PRIVS = ['USAGE', 'SELECT', 'UPDATE'];

export interface SnapshotProbe {
  roles: string[];
  /** rows a role sees of a table are listed (columns id and name; pick rows the traffic leaves alone) */
  listAs?: { role: string; table: string }[];
  /** tables each role is checked to see completely (counts vs the superuser's) */
  fullTables?: string[];
  schemas?: string[];
}

export async function accessSnapshot(adminUrl: string, p: SnapshotProbe): Promise<AccessSnapshot> {
  const schemas = p.schemas ?? ['public', 'auth'];
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    // one snapshot for every fact and row, so traffic cannot make two reads disagree
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const facts: Record<string, string[]> = {};
    const add = (obj: string, fact: string) => {
      if (!facts[obj]) facts[obj] = [];
      facts[obj].push(fact);
    };
    const tables = await c.query<{ obj: string; role: string; priv: string }>(
      `SELECT format('relation %I.%I', n.nspname, cl.relname) AS obj, r.rolname AS role, pr AS priv
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace, pg_roles r, unnest($3::text[]) pr
        WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m','f') AND r.rolname = ANY ($2)
          AND has_table_privilege(r.oid, cl.oid, pr)`,
      [schemas, p.roles, [...TABLE_PRIVS, ...TABLE_PRIVS.map((x) => `${x} WITH GRANT OPTION`)]],
    );
    for (const t of tables.rows) add(t.obj, `${t.role} ${t.priv}`);
    const cols = await c.query<{ obj: string; role: string; priv: string }>(
      `SELECT format('column %I.%I.%I', n.nspname, cl.relname, a.attname) AS obj, r.rolname AS role, pr AS priv
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
         JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped,
              pg_roles r, unnest($3::text[]) pr
        WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m','f') AND r.rolname = ANY ($2)
          AND has_column_privilege(r.oid, cl.oid, a.attnum, pr)`,
      [schemas, p.roles, [...COLUMN_PRIVS, ...COLUMN_PRIVS.map((x) => `${x} WITH GRANT OPTION`)]],
    );
    for (const t of cols.rows) add(t.obj, `${t.role} ${t.priv}`);
    const seqs = await c.query<{ obj: string; role: string; priv: string }>(
      `SELECT format('sequence %I.%I', n.nspname, cl.relname) AS obj, r.rolname AS role, pr AS priv
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace, pg_roles r, unnest($3::text[]) pr
        WHERE n.nspname = ANY ($1) AND cl.relkind = 'S' AND r.rolname = ANY ($2)
          AND has_sequence_privilege(r.oid, cl.oid, pr)`,
      [schemas, p.roles, SEQ_PRIVS],
    );
    for (const t of seqs.rows) add(t.obj, `${t.role} ${t.priv}`);
    const fns = await c.query<{ obj: string; role: string }>(
      `SELECT 'function ' || p.oid::regprocedure::text AS obj, r.rolname AS role
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, pg_roles r
        WHERE n.nspname = ANY ($1) AND r.rolname = ANY ($2) AND has_function_privilege(r.oid, p.oid, 'EXECUTE')`,
      [schemas, p.roles],
    );
    for (const t of fns.rows) add(t.obj, `${t.role} EXECUTE`);
    const sch = await c.query<{ obj: string; role: string; priv: string }>(
      `SELECT 'schema ' || quote_ident(n.nspname) AS obj, r.rolname AS role, pr AS priv
         FROM pg_namespace n, pg_roles r, unnest(ARRAY['USAGE','CREATE']) pr
        WHERE n.nspname = ANY ($1) AND r.rolname = ANY ($2) AND has_schema_privilege(r.oid, n.oid, pr)`,
      [schemas, p.roles],
    );
    for (const t of sch.rows) add(t.obj, `${t.role} ${t.priv}`);
    const dflt = await c.query<{ obj: string; acl: string }>(
      `SELECT 'default acl ' || pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '*') || ' ' || d.defaclobjtype::text AS obj,
              x::text AS acl
         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, unnest(d.defaclacl) x`,
    );
    for (const d of dflt.rows)
      if (p.roles.some((r) => d.acl.startsWith(`${r}=`) || d.acl.startsWith(`"${r}"=`))) add(d.obj, d.acl);
    for (const k of Object.keys(facts)) facts[k]!.sort();
    const objs = await c.query<{ obj: string }>(
      `SELECT format('%s %I.%I', CASE cl.relkind WHEN 'S' THEN 'sequence' ELSE 'relation' END, n.nspname, cl.relname) AS obj
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m','f','S')
       UNION ALL
       SELECT format('column %I.%I.%I', n.nspname, cl.relname, a.attname)
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
         JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m','f')
       UNION ALL
       SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY ($1)
       UNION ALL
       SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n WHERE n.nspname = ANY ($1)`,
      [schemas],
    );
    // default ACLs are compared whole: they exist when a fact does
    const objects = [
      ...objs.rows.map((o) => o.obj),
      ...Object.keys(facts).filter((k) => k.startsWith('default acl')),
    ];

    const rlsRows = await c.query<{ t: string; s: string }>(
      `SELECT format('%I.%I', n.nspname, cl.relname) AS t,
              'rls=' || cl.relrowsecurity || ' force=' || cl.relforcerowsecurity || ' policies=' ||
              coalesce((SELECT string_agg(po.polname || ':' || po.polcmd::text || ':' || pg_get_expr(po.polqual, po.polrelid), ',' ORDER BY po.polname)
                          FROM pg_policy po WHERE po.polrelid = cl.oid), '') AS s
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p')`,
      [schemas],
    );
    const rls = Object.fromEntries(rlsRows.rows.map((r) => [r.t, r.s]));

    const visible: AccessSnapshot['visible'] = {};
    const seesAll: AccessSnapshot['seesAll'] = {};
    const ident = (s: string) =>
      s
        .split('.')
        .map((x) => `"${x.replace(/"/g, '""')}"`)
        .join('.');
    for (const role of p.roles) {
      visible[role] = {};
      seesAll[role] = {};
      for (const t of (p.listAs ?? []).filter((x) => x.role === role).map((x) => x.table)) {
        await c.query('SAVEPOINT probe');
        await c.query(`SET LOCAL ROLE "${role.replace(/"/g, '""')}"`);
        visible[role]![t] = await c
          .query<{ k: string }>(
            `SELECT id::text || ' ' || coalesce(name, '') AS k FROM ${ident(t)} ORDER BY 1`,
          )
          .then((x) => x.rows.map((y) => y.k))
          .catch((e: { code?: string }) => [`error ${e.code}`]);
        await c.query('ROLLBACK TO SAVEPOINT probe');
        await c.query('RESET ROLE');
      }
      for (const t of p.fullTables ?? []) {
        const all = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(t)}`);
        await c.query('SAVEPOINT probe');
        await c.query(`SET LOCAL ROLE "${role.replace(/"/g, '""')}"`);
        const mine = await c
          .query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(t)}`)
          .then((x) => x.rows[0]!.n)
          .catch(() => 'error');
        await c.query('ROLLBACK TO SAVEPOINT probe');
        await c.query('RESET ROLE');
        seesAll[role]![t] = mine === all.rows[0]!.n;
      }
    }
    await c.query('COMMIT');
    return { facts, objects, visible, seesAll, rls };
  } finally {
    await c.end().catch(() => {});
  }
}

/** Facts that differ between two snapshots on the objects both have: [] when identical. */
export function accessDiff(a: AccessSnapshot, b: AccessSnapshot): string[] {
  const out: string[] = [];
  const inB = new Set(b.objects);
  const both = a.objects.filter((o) => inB.has(o) || o.startsWith('default acl'));
  for (const obj of new Set([...both, ...b.objects.filter((o) => o.startsWith('default acl'))])) {
    const x = new Set(a.facts[obj] ?? []);
    const y = new Set(b.facts[obj] ?? []);
    for (const f of x) if (!y.has(f)) out.push(`${obj}: lost ${f}`);
    for (const f of y) if (!x.has(f)) out.push(`${obj}: gained ${f}`);
  }
  for (const t of Object.keys(a.rls).filter((k) => k in b.rls))
    if (a.rls[t] !== b.rls[t]) out.push(`${t}: ${a.rls[t]} → ${b.rls[t]}`);
  for (const role of Object.keys(a.visible)) {
    for (const t of Object.keys(a.visible[role]!)) {
      const x = JSON.stringify(a.visible[role]![t]);
      const y = JSON.stringify(b.visible[role]?.[t]);
      if (x !== y) out.push(`${role} sees on ${t}: ${x} → ${y}`);
    }
    for (const t of Object.keys(a.seesAll[role]!))
      if (a.seesAll[role]![t] !== b.seesAll[role]?.[t])
        out.push(`${role} sees all of ${t}: ${a.seesAll[role]![t]} → ${b.seesAll[role]?.[t]}`);
  }
  return out;
}
