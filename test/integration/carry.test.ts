/**
 * Issue 8 items 1 and 2 on real PostgreSQL: what the application and other tenants rely on is
 * carried to v2 by the cutover (privileges per role, a column grant, sequence USAGE, RLS and a
 * policy for a second role, storage options, statistics targets, publication membership, another
 * application's trigger and view), or the cutover refuses and nothing changes; rows that cannot
 * convert and arrive after the check follow the policy (abort refuses, quarantine reports and
 * the counts reconcile). The privilege matrix here is the test's own (has_*_privilege), not the
 * engine's.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { assertSamePrivileges, diffMatrices, privilegeMatrix } from '../../src/engine/privileges.js';
import { DfcError } from '../../src/errors.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';

const tag = () => randomBytes(3).toString('hex');

/** role → relation → privileges, and role → column grants, over relations present in both runs. */
async function matrix(c: pg.ClientBase, roles: string[]) {
  const r = await c.query<{ k: string }>(
    `SELECT r.rolname || ' ' || n.nspname || '.' || cl.relname || ' ' || p AS k
       FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace, pg_roles r,
            unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','SELECT WITH GRANT OPTION']) p
      WHERE n.nspname IN ('public','auth') AND cl.relkind IN ('r','v','m') AND r.rolname = ANY ($1)
        AND has_table_privilege(r.oid, cl.oid, p)
     UNION ALL
     SELECT r.rolname || ' ' || n.nspname || '.' || cl.relname || ' ' || p
       FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace, pg_roles r, unnest(ARRAY['USAGE','SELECT','UPDATE']) p
      WHERE n.nspname IN ('public','auth') AND cl.relkind = 'S' AND r.rolname = ANY ($1) AND has_sequence_privilege(r.oid, cl.oid, p)
     UNION ALL
     SELECT r.rolname || ' ' || n.nspname || '.' || cl.relname || '.' || a.attname || ' column SELECT'
       FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0, pg_roles r
      WHERE n.nspname IN ('public','auth') AND cl.relkind = 'r' AND r.rolname = ANY ($1)
        AND has_column_privilege(r.oid, cl.oid, a.attnum, 'SELECT') AND NOT has_table_privilege(r.oid, cl.oid, 'SELECT')
     ORDER BY 1`,
    [roles],
  );
  return r.rows.map((x) => x.k);
}

async function visibleCampaigns(c: pg.ClientBase, role: string): Promise<number> {
  await c.query(`SET ROLE "${role}"`);
  try {
    const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.campaigns');
    return r.rows[0]!.n;
  } finally {
    await c.query('RESET ROLE');
  }
}

async function setUpTenants(url: string) {
  const app = `app_${tag()}`;
  const rep = `rep_${tag()}`;
  await withClient(url, async (c) => {
    await c.query(`CREATE ROLE "${app}" NOLOGIN; CREATE ROLE "${rep}" NOLOGIN`);
    await c.query(`GRANT USAGE ON SCHEMA public, auth TO "${app}", "${rep}";
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, auth TO "${app}";
      GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, auth TO "${app}";
      GRANT SELECT (id, name, status) ON public.campaigns TO "${rep}";
      GRANT SELECT ON public.campaign_statistics TO "${rep}" WITH GRANT OPTION;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "${rep}";
      ALTER TABLE public.campaigns ENABLE ROW LEVEL SECURITY;
      CREATE POLICY app_all ON public.campaigns TO "${app}" USING (true) WITH CHECK (true);
      CREATE POLICY rep_finished ON public.campaigns FOR SELECT TO "${rep}" USING (status = 'completed');
      ALTER TABLE public.generated_domains SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.05);
      ALTER TABLE public.personas SET (autovacuum_enabled = false);
      ALTER TABLE public.campaigns ALTER COLUMN name SET STATISTICS 500`);
  });
  return { app, rep };
}

/**
 * Other applications' objects on DomainFlow tables: validate (and so consolidate's preflight)
 * refuses them before any change; made while a consolidation runs they are the cutover's to carry.
 */
async function addForeignObjects(url: string, app: string) {
  await withClient(url, async (c) => {
    await c.query(`CREATE PUBLICATION "pub_${app}" FOR TABLE public.campaigns;
      CREATE SCHEMA other_app;
      CREATE TABLE other_app.seen (campaign_id uuid);
      CREATE FUNCTION other_app.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO other_app.seen VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER other_app_note AFTER INSERT ON public.campaigns FOR EACH ROW EXECUTE FUNCTION other_app.note();
      CREATE VIEW other_app.campaign_names AS SELECT id, name FROM public.campaigns`);
  });
}

describe('cutover carries the application surface', () => {
  it('privilege matrix, RLS-visible rows, options, publication, foreign trigger and view identical before and after', async () => {
    const url = await freshDatabase('seeded', 'carry');
    const { app, rep } = await setUpTenants(url);
    const before = await withClient(url, async (c) => ({
      matrix: await matrix(c, [app, rep]),
      rep: await visibleCampaigns(c, rep),
      app: await visibleCampaigns(c, app),
    }));
    expect(before.rep).toBeGreaterThan(0);
    expect(before.rep).toBeLessThan(before.app);
    expect(before.matrix).toContain(`${app} auth.rate_limits_id_seq USAGE`);
    expect(before.matrix).toContain(`${rep} public.campaigns.name column SELECT`);

    await consolidate(url, { batchSize: 500 });
    await addForeignObjects(url, app);
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    expect(co.carried.carried.map((x) => x.kind).sort()).toEqual(['policy', 'policy', 'trigger', 'view']);

    await withClient(url, async (c) => {
      // the names now resolve to v2 (the legacy tables are in the rollback schema)
      const t = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
        WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`);
      expect(t.rows[0].t).toBe('uuid');
      expect(await matrix(c, [app, rep])).toEqual(before.matrix);
      expect(await visibleCampaigns(c, rep)).toBe(before.rep);
      expect(await visibleCampaigns(c, app)).toBe(before.app);
      const rls = await c.query(
        `SELECT relrowsecurity AS on FROM pg_class WHERE oid = 'public.campaigns'::regclass`,
      );
      expect(rls.rows[0].on).toBe(true);
      const opts = await c.query(
        `SELECT reloptions FROM pg_class WHERE oid = 'public.generated_domains'::regclass`,
      );
      expect(opts.rows[0].reloptions).toEqual(
        expect.arrayContaining(['fillfactor=80', 'autovacuum_vacuum_scale_factor=0.05']),
      );
      // the shadow ran without autovacuum: back on after the commit, except where the DBA had it off
      const av = await c.query<{ rel: string; opt: string }>(
        `SELECT cl.oid::regclass::text AS rel, o AS opt FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace,
                unnest(cl.reloptions) o WHERE n.nspname IN ('public','auth') AND o LIKE 'autovacuum_enabled%'`,
      );
      expect(av.rows).toEqual([{ rel: 'personas', opt: 'autovacuum_enabled=false' }]);
      const st = await c.query(`SELECT attstattarget AS n FROM pg_attribute
        WHERE attrelid = 'public.campaigns'::regclass AND attname = 'name'`);
      expect(Number(st.rows[0].n)).toBe(500);
      const pub = await c.query(
        `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1`,
        [`pub_${app}`],
      );
      expect(pub.rows.map((r) => r.t)).toEqual(['public.campaigns']);
      const dflt = await c.query(
        `SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclacl::text LIKE $1`,
        [`%${rep}%`],
      );
      expect(dflt.rows[0].n).toBe(1);
      // the application role writes through the sequence the issue saw lost
      await c.query(`SET ROLE "${app}"`);
      await c.query(`INSERT INTO auth.rate_limits (identifier, action) VALUES ('carry-test', 'login')`);
      await c.query('RESET ROLE');
      // the other application's trigger fires on v2, its view reads v2
      const id = (await c.query('SELECT id FROM campaigns LIMIT 1')).rows[0].id;
      const seen0 = (await c.query('SELECT count(*)::int AS n FROM other_app.seen')).rows[0].n;
      await c.query(
        `INSERT INTO campaigns (name, campaign_type, status) SELECT 'carried ' || name, campaign_type, 'pending' FROM campaigns WHERE id = $1`,
        [id],
      );
      expect((await c.query('SELECT count(*)::int AS n FROM other_app.seen')).rows[0].n).toBe(seen0 + 1);
      const names = await c.query(
        `SELECT count(*)::int AS n FROM other_app.campaign_names WHERE name LIKE 'carried %'`,
      );
      expect(names.rows[0].n).toBe(1);
    });
  });

  it('refuses a foreign trigger that cannot be recreated on v2, naming it; nothing changes', async () => {
    const url = await freshDatabase('seeded', 'carryno');
    await consolidate(url, { batchSize: 500 });
    await withClient(url, async (c) => {
      await c.query(`CREATE FUNCTION public.flag_system() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER "Flag System" BEFORE UPDATE ON public.campaigns FOR EACH ROW
          WHEN (NEW.user_id = 'system') EXECUTE FUNCTION public.flag_system()`);
    });
    const catalog = await catalogChecksum(url);
    const data = await userData(url);
    const err = await cutover(url, { lockTimeoutMs: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_01');
    expect(err.message).toContain('trigger "Flag System" on public.campaigns');
    expect(err.fix).toContain('DROP TRIGGER "Flag System" ON public.campaigns');
    expect(await catalogChecksum(url)).toBe(catalog);
    expect(await userData(url)).toEqual(data);
  });
});

/** Row checksums of DomainFlow's tables (not dfc's own bookkeeping, which logs the failed attempt). */
async function userData(url: string) {
  const all = await dataChecksums(url);
  return Object.fromEntries(
    Object.entries(all).filter(
      ([k]) => k.startsWith('public.') || k.startsWith('auth.') || k.startsWith('dfc_'),
    ),
  );
}

describe('rows that cannot convert and arrive after the check', () => {
  const insertLate = async (url: string) =>
    withClient(url, async (c) => {
      const camp = await c.query(
        `INSERT INTO campaigns (name, campaign_type, status) SELECT 'late bad', campaign_type, 'bogus' FROM campaigns LIMIT 1 RETURNING id`,
      );
      const audit = await c.query(
        `INSERT INTO audit_logs (action, user_id, client_ip) VALUES ('late', 'system', 'not-an-ip') RETURNING id`,
      );
      return { campaign: camp.rows[0].id as string, audit: audit.rows[0].id as string };
    });

  it('abort (default): cutover refuses with CONSOLIDATION_04 naming the rows; nothing changes; fixed rows then cut over', async () => {
    const url = await freshDatabase('seeded', 'lateab');
    await consolidate(url, { batchSize: 500 });
    const late = await insertLate(url);
    const err = await cutover(url, { lockTimeoutMs: 1000 }).catch((e) => e);
    const catalog = await catalogChecksum(url);
    const data = await userData(url);
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_04');
    expect(err.message).toContain(late.campaign);
    expect(err.message).toContain(late.audit);
    expect(err.message).toContain('campaigns.status.not_allowed');
    // a second attempt changes nothing either
    await expect(cutover(url, { lockTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'CONSOLIDATION_04' });
    expect(await catalogChecksum(url)).toBe(catalog);
    expect(await userData(url)).toEqual(data);
    await withClient(url, async (c) => {
      await c.query(`UPDATE campaigns SET status = 'failed' WHERE id = $1`, [late.campaign]);
      await c.query(`UPDATE audit_logs SET user_id = NULL, client_ip = NULL WHERE id = $1`, [late.audit]);
    });
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    expect(co.quarantine.total).toBe(0);
    await withClient(url, async (c) => {
      const r = await c.query('SELECT status FROM campaigns WHERE id = $1', [late.campaign]);
      expect(r.rows).toEqual([{ status: 'failed' }]);
    });
  });

  it('quarantine: every late row is reported and legacy = v2 + kept out', async () => {
    const url = await freshDatabase('seeded', 'lateq');
    await consolidate(url, { batchSize: 500, onInvalid: 'quarantine' });
    const late = await insertLate(url);
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    const keys = co.quarantine.rows.map((r) => `${r.table} ${JSON.stringify(r.key)} ${r.issue}`);
    expect(keys).toContain(`public.campaigns {"id":"${late.campaign}"} campaigns.status.not_allowed`);
    expect(keys).toContain(`public.audit_logs {"id":"${late.audit}"} audit_logs.client_ip.not_inet`);
    expect(keys).toContain(`public.audit_logs {"id":"${late.audit}"} audit_logs.user_id.not_uuid`);
    expect(co.quarantine.reconciles).toBe(true);
    const camp = co.quarantine.tables.find((t) => t.table === 'public.campaigns')!;
    expect(camp.keptOut).toBe(1);
    expect(camp.legacyRows).toBe(camp.v2Rows + 1);
  });
});

describe('the in-transaction privilege check', () => {
  it('names a lost privilege as a coded difference', async () => {
    const url = await freshDatabase('legacy', 'privm');
    const role = `m_${tag()}`;
    await withClient(url, async (c) => {
      await c.query(
        `CREATE ROLE "${role}" NOLOGIN; GRANT SELECT (id, name) ON public.campaigns TO "${role}"`,
      );
      const before = await privilegeMatrix(c);
      await c.query(`REVOKE SELECT (name) ON public.campaigns FROM "${role}"`);
      const after = await privilegeMatrix(c, undefined, undefined, before.roles);
      const err = await assertSamePrivileges(before, after).catch((e) => e);
      expect(err).toBeInstanceOf(DfcError);
      expect(err.code).toBe('CONSOLIDATION_01');
      expect(err.details.privilegeDifferences).toEqual([
        { object: 'col public.campaigns.name', fact: `${role} SELECT`, before: true, after: false },
      ]);
      await expect(
        assertSamePrivileges(before, await privilegeMatrix(c, undefined, undefined, before.roles)),
      ).rejects.toThrow();
      await expect(
        assertSamePrivileges(after, await privilegeMatrix(c, undefined, undefined, before.roles)),
      ).resolves.toBeUndefined();
    });
  });

  it('examines a predefined role where an ACL names it: a grant to pg_monitor lost or gained is a difference', async () => {
    const url = await freshDatabase('legacy', 'privp');
    await withClient(url, async (c) => {
      const none = await privilegeMatrix(c);
      // no ACL names a predefined role: only the database's own roles are examined
      expect(none.roles.some((r) => r.startsWith('pg_'))).toBe(false);
      await c.query('GRANT SELECT ON public.campaigns TO pg_monitor');
      const granted = await privilegeMatrix(c);
      expect(granted.roles).toContain('pg_monitor');
      // newly named: every fact of the role is new (what PUBLIC gives it included), the grant among them
      const gained = diffMatrices(none, await privilegeMatrix(c, undefined, undefined, none.roles));
      expect(gained).toContainEqual({
        object: 'rel public.campaigns',
        fact: 'pg_monitor SELECT',
        before: false,
        after: true,
      });
      expect(gained.every((d) => d.fact.startsWith('pg_monitor ') && d.after)).toBe(true);
      await c.query('REVOKE SELECT ON public.campaigns FROM pg_monitor');
      expect(diffMatrices(granted, await privilegeMatrix(c, undefined, undefined, granted.roles))).toEqual([
        { object: 'rel public.campaigns', fact: 'pg_monitor SELECT', before: true, after: false },
      ]);
    });
  });
});
