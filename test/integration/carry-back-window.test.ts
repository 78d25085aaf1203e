/**
 * Issue 8 (second half): grants, RLS switches and policies changed on v2 DURING the rollback window
 * (after cutover, before rollback execute) hold on legacy after the rollback, and forward again
 * after a second cutover. Measured by the test's own instrument (test/helpers/catalog-snapshot.ts,
 * no engine import): the access snapshot of v2 just before the rollback equals legacy's just after
 * it, and v2's again after rolling forward.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { executeRollback } from '../../src/engine/rollback.js';
import { accessDiff, accessSnapshot } from '../helpers/catalog-snapshot.js';
import { freshDatabase } from '../helpers/db.js';

const tag = () => randomBytes(3).toString('hex');

async function facts(c: pg.ClientBase, grantee: string, app: string) {
  const q = async (text: string, values: unknown[] = []) => (await c.query(text, values)).rows[0];
  const has = async (rel: string, p: string, role = grantee) =>
    (await q('SELECT has_table_privilege($1, $2, $3) AS b', [role, rel, p])).b as boolean;
  return {
    userIdType: (
      await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
                WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`)
    ).t,
    selectCampaigns: await has('public.campaigns', 'SELECT'),
    insertCampaigns: await has('public.campaigns', 'INSERT'),
    appDeleteCampaigns: await has('public.campaigns', 'DELETE', app),
    columnName: (
      await q(`SELECT has_column_privilege($1, 'public.generated_domains', 'id', 'SELECT') AS b`, [grantee])
    ).b,
    sequenceUsage: (
      await q(
        `SELECT bool_or(has_sequence_privilege($1, c.oid, 'USAGE')) AS b FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'auth' AND c.relkind = 'S'`,
        [grantee],
      )
    ).b,
    campaignsRls: (
      await q(`SELECT relrowsecurity AS b FROM pg_class WHERE oid = 'public.campaigns'::regclass`)
    ).b,
    windowPolicy: (
      await q(
        `SELECT count(*)::int AS n FROM pg_policy WHERE polrelid = 'public.campaigns'::regclass AND polname = 'window_select'`,
      )
    ).n,
    domainsRls: (
      await q(`SELECT relrowsecurity AS b FROM pg_class WHERE oid = 'public.generated_domains'::regclass`)
    ).b,
    droppedPolicy: (
      await q(
        `SELECT count(*)::int AS n FROM pg_policy WHERE polrelid = 'public.generated_domains'::regclass AND polname = 'gd_app'`,
      )
    ).n,
  };
}

describe('carry back what changed on v2 during the rollback window', () => {
  it('a GRANT, REVOKE, column grant, RLS switch and policies made on v2 after cutover hold on legacy after rollback, and on v2 after rolling forward', async () => {
    const url = await freshDatabase('seeded', 'cbwin');
    const app = `app_${tag()}`;
    const late = `late_${tag()}`;
    await withClient(url, (c) =>
      c.query(`CREATE ROLE "${app}" NOLOGIN; CREATE ROLE "${late}" NOLOGIN;
        GRANT USAGE ON SCHEMA public, auth TO "${app}", "${late}";
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, auth TO "${app}";
        ALTER TABLE public.generated_domains ENABLE ROW LEVEL SECURITY;
        CREATE POLICY gd_app ON public.generated_domains TO "${app}" USING (true) WITH CHECK (true)`),
    );
    await consolidate(url, { batchSize: 500 });
    const co = await cutover(url, { lockTimeoutMs: 2000 });

    // the rollback window: another administrator changes v2's surface
    await withClient(url, (c) =>
      c.query(`GRANT SELECT, INSERT ON public.campaigns TO "${late}";
        REVOKE DELETE ON public.campaigns FROM "${app}";
        GRANT SELECT (id) ON public.generated_domains TO "${late}";
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA auth TO "${late}";
        ALTER TABLE public.campaigns ENABLE ROW LEVEL SECURITY;
        CREATE POLICY window_select ON public.campaigns FOR SELECT TO "${late}" USING (status = 'completed');
        DROP POLICY gd_app ON public.generated_domains;
        ALTER TABLE public.generated_domains DISABLE ROW LEVEL SECURITY`),
    );
    const expected = {
      selectCampaigns: true,
      insertCampaigns: true,
      appDeleteCampaigns: false,
      columnName: true,
      sequenceUsage: true,
      campaignsRls: true,
      windowPolicy: 1,
      domainsRls: false,
      droppedPolicy: 0,
    };
    const probe = { roles: [app, late] };
    const onV2 = await withClient(url, (c) => facts(c, late, app));
    expect(onV2).toEqual({ userIdType: 'uuid', ...expected });
    const v2Access = await accessSnapshot(url, probe);

    const rb = await executeRollback(url, co.rollbackPoint, {
      reason: 'window carry-back test',
      lockTimeoutMs: 2000,
    });
    expect(rb.point).toBe(co.rollbackPoint);
    // legacy is live again (user_id is text there) with the window's changes
    expect(await withClient(url, (c) => facts(c, late, app))).toEqual({ userIdType: 'text', ...expected });
    expect(accessDiff(v2Access, await accessSnapshot(url, probe))).toEqual([]);

    // roll forward: the cutover's own proof (privilege matrix before = after) passes and v2 has them again
    await cutover(url, { lockTimeoutMs: 2000 });
    expect(await withClient(url, (c) => facts(c, late, app))).toEqual({ userIdType: 'uuid', ...expected });
    expect(accessDiff(v2Access, await accessSnapshot(url, probe))).toEqual([]);
  });
});
