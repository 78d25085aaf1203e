/**
 * Read the application surface out of the lock, prove it under the lock (cutover and rollback
 * alike). The surface (carry.ts) and the "before" privilege matrix (privileges.ts) cost ~100 ms of
 * catalog queries; under the locks only one fingerprint query runs: an md5 over the row versions
 * (key and xmin) of every catalog row those reads depend on. Equal fingerprints mean the catalog rows the surface came from are the
 * ones under the lock, so the cached read is what a read under the lock would return. Different:
 * read again under the lock (correct, slower; reported as a warning event).
 *
 * The fingerprint is taken BEFORE the read it vouches for, in the same session: anything that
 * commits after it makes the fingerprint under the lock differ, so a change can make the read
 * newer than its fingerprint (harmless: read again) but never older. What it covers — every
 * relation of the live schemas and of their counterparts (shadow or rollback copy), by oid:
 * - pg_class: name, schema, kind, owner, ACL, RLS switches, reloptions and the TOAST table's;
 * - pg_attribute: name, dropped, type, column ACL, statistics target; pg_description of them;
 * - pg_policy, pg_trigger (not dfc's own capture triggers: cutover moves them itself),
 *   pg_rewrite on them and of every view that depends on them (pg_depend: a new view of another
 *   application), foreign keys pointing at them (pg_constraint), pg_publication_rel, pg_publication;
 * - the matrix's global inputs: functions of the live schemas (owner, ACL, definition; their
 *   comments: the rollback point keeps them), pg_default_acl, memberships, and every role the
 *   read saw (name, superuser, inherit; a role created since is in neither matrix).
 * Locks do the rest: GRANT, REVOKE, CREATE POLICY/TRIGGER/RULE, COMMENT, ALTER TABLE and a new
 * view or foreign key all wait for the ACCESS EXCLUSIVE locks the cutover holds, so nothing on
 * those relations changes between the fingerprint under the lock and the COMMIT. ALTER DEFAULT
 * PRIVILEGES and role changes take no lock; a change there after the fingerprint makes the "after"
 * matrix differ from the "before" one and the transaction rolls back (nothing is lost).
 */
import type pg from 'pg';
import type { Session } from '../db/session.js';
import { named, quoteLiteral } from '../sql/sql.js';
import type { EventSink } from './events.js';

const byIndex = (select: string) => `${select} OFFSET 0`;

/**
 * Row versions, not row text: every INSERT, UPDATE or DELETE of a catalog row changes the set of
 * (key, xmin) pairs (an updated row is a new tuple with the updating transaction's xmin; freezing
 * keeps the raw xmin; VACUUM/ANALYZE update pg_class statistics in place, xmin unchanged, and those
 * are nothing the surface reads). Cheaper than rendering the rows (a view's rule is a large node tree).
 */
const fingerprintSql = (schemas: readonly string[], live: readonly string[]) => {
  const list = (xs: readonly string[]) => `ARRAY[${xs.map(quoteLiteral).join(', ')}]::text[]`;
  return `
WITH rels AS (SELECT cl.oid FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
               WHERE n.nspname = ANY (${list(schemas)}) AND cl.relkind IN ('r','p','v','m','S','f')),
     views AS (SELECT DISTINCT d.objid AS oid FROM pg_depend d JOIN rels ON rels.oid = d.refobjid
                WHERE d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_rewrite'::regclass)
SELECT md5(concat_ws(E'\\n',
  (SELECT string_agg(cl.oid || ':' || cl.xmin || ':' || coalesce(t.xmin::text, ''), ',' ORDER BY cl.oid)
     FROM rels JOIN pg_class cl ON cl.oid = rels.oid LEFT JOIN pg_class t ON t.oid = cl.reltoastrelid),
  (SELECT string_agg(a.attrelid || '.' || a.attnum || ':' || a.xmin, ',' ORDER BY a.attrelid, a.attnum)
     FROM rels, LATERAL (${byIndex('SELECT a.attrelid, a.attnum, a.xmin FROM pg_attribute a WHERE a.attrelid = rels.oid AND a.attnum > 0')}) a),
  (SELECT string_agg(d.objoid || '.' || d.objsubid || ':' || d.xmin, ',' ORDER BY d.objoid, d.objsubid)
     FROM rels, LATERAL (${byIndex(`SELECT d.objoid, d.objsubid, d.xmin FROM pg_description d WHERE d.objoid = rels.oid AND d.classoid = 'pg_class'::regclass`)}) d),
  (SELECT string_agg(p.oid || ':' || p.xmin, ',' ORDER BY p.oid) FROM rels JOIN pg_policy p ON p.polrelid = rels.oid),
  (SELECT string_agg(t.oid || ':' || t.xmin, ',' ORDER BY t.oid) FROM rels JOIN pg_trigger t ON t.tgrelid = rels.oid
     JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
    WHERE NOT t.tgisinternal AND fn.nspname <> 'consolidation'),
  (SELECT string_agg(r.oid || ':' || r.xmin || ':' || v.xmin, ',' ORDER BY r.oid) FROM pg_rewrite r JOIN pg_class v ON v.oid = r.ev_class
    WHERE r.ev_class IN (SELECT oid FROM rels) OR r.oid IN (SELECT oid FROM views)),
  (SELECT string_agg(k.oid || ':' || k.xmin, ',' ORDER BY k.oid) FROM rels JOIN pg_constraint k ON k.confrelid = rels.oid),
  (SELECT string_agg(pr.oid || ':' || pr.xmin, ',' ORDER BY pr.oid) FROM rels JOIN pg_publication_rel pr ON pr.prrelid = rels.oid),
  (SELECT string_agg(p.oid || ':' || p.xmin, ',' ORDER BY p.oid) FROM pg_publication p),
  (SELECT string_agg(p.oid || ':' || p.xmin, ',' ORDER BY p.oid)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY (${list(live)})),
  (SELECT string_agg(d.objoid || ':' || d.xmin, ',' ORDER BY d.objoid) FROM pg_description d
     JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY (${list(live)})),
  (SELECT string_agg(d.oid || ':' || d.xmin, ',' ORDER BY d.oid) FROM pg_default_acl d),
  (SELECT string_agg(m::text, ';' ORDER BY m::text) FROM pg_auth_members m)
)) AS catalog,
  (SELECT array_agg(concat_ws(',', r.oid, r.rolname, r.rolsuper, r.rolinherit) ORDER BY r.oid) FROM pg_roles r) AS roles`;
};

/**
 * The catalog rows' versions, and the roles apart: roles are cluster-wide, and one created
 * meanwhile (by another application, in another database) is in no read made before it, so it
 * changes nothing those reads say. A role read, renamed, dropped or made superuser, or any
 * membership, does.
 */
export interface SurfaceFingerprint {
  catalog: string;
  roles: readonly string[];
}

/** The cached read is current: the same catalog rows and every role it saw, unchanged. */
export function sameSurface(read: SurfaceFingerprint, now: SurfaceFingerprint): boolean {
  const roles = new Set(now.roles);
  return read.catalog === now.catalog && read.roles.every((r) => roles.has(r));
}

/**
 * One query; `schemas`: the live schemas and their counterparts; `live`: the live schemas
 * (functions). A named statement without parameters: planned once per session, so under the
 * locks it only executes.
 */
export async function surfaceFingerprint(
  c: pg.ClientBase,
  schemas: readonly string[],
  live: readonly string[],
): Promise<SurfaceFingerprint> {
  const r = await c.query<{ catalog: string; roles: string[] }>(
    named('dfc_surface_fp', fingerprintSql(schemas, live)),
  );
  return { catalog: r.rows[0]!.catalog, roles: r.rows[0]!.roles };
}

/**
 * What one plan reads of the surface, cached across its attempts with the fingerprint it was read
 * at. `read` runs inside a transaction (readSurface sets search_path locally).
 */
export class SurfaceCache<T> {
  private cached: { fingerprint: SurfaceFingerprint; value: T } | undefined;
  /** how the last underLock() got its value */
  source: 'cached' | 'read under the lock' | undefined;

  constructor(
    private readonly what: string,
    private readonly schemas: readonly string[],
    private readonly live: readonly string[],
    private readonly read: (c: pg.ClientBase) => Promise<T>,
  ) {}

  private current(now: SurfaceFingerprint): boolean {
    return this.cached !== undefined && sameSurface(this.cached.fingerprint, now);
  }

  /** Outside the locks, in a transaction of its own: read (again) unless the cached read is current. */
  async refresh(session: Session): Promise<'cached' | 'read'> {
    return session.transaction(async () => {
      const c = session.client;
      const fingerprint = await surfaceFingerprint(c, this.schemas, this.live);
      if (this.current(fingerprint)) return 'cached';
      this.cached = { fingerprint, value: await this.read(c) };
      return 'read';
    });
  }

  /** Under the locks: the cached read when the catalog rows it came from are unchanged, else a read now. */
  async underLock(c: pg.ClientBase, emit: EventSink): Promise<T> {
    const fingerprint = await surfaceFingerprint(c, this.schemas, this.live);
    if (this.cached && this.current(fingerprint)) {
      this.source = 'cached';
      return this.cached.value;
    }
    emit({
      type: 'warning',
      message: `${this.what}: ${this.cached ? 'the catalog changed after it was read before the locks' : 'not read before the locks'}; read again under the locks (correct, slower)`,
    });
    this.cached = { fingerprint, value: await this.read(c) };
    this.source = 'read under the lock';
    return this.cached.value;
  }
}
