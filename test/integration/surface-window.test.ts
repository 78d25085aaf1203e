/**
 * The surface (grants, RLS, policies, other applications' objects) and the "before" privilege
 * matrix are read before the cutover's locked transaction and proved under the locks by one
 * fingerprint query (src/engine/surface-cache.ts). These tests commit changes in the window
 * between the read and the LOCK (the fault seam holds the cutover there) and prove each change is
 * carried to v2: read again before the attempt (changed after cutover:read-surface) or under the
 * locks (changed after the attempt's last check, right before the LOCK). Nothing is lost either way.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Faults } from '../../src/core/faults.js';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import type { EngineEvent } from '../../src/engine/events.js';
import { executeRollback } from '../../src/engine/rollback.js';
import { freshDatabase } from '../helpers/db.js';

const tag = () => randomBytes(3).toString('hex');

/** The changes another session commits while the cutover holds in the window. */
function windowChanges(role: string): string {
  return `GRANT SELECT, UPDATE ON public.campaigns TO "${role}";
    GRANT SELECT (id) ON public.generated_domains TO "${role}";
    REVOKE DELETE ON public.campaigns FROM "${role}";
    ALTER TABLE public.campaigns ENABLE ROW LEVEL SECURITY;
    CREATE POLICY "${role}_pending" ON public.campaigns FOR SELECT TO "${role}" USING (status = 'pending');
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "${role}";
    CREATE TABLE IF NOT EXISTS window_seen (id uuid);
    CREATE FUNCTION window_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.window_seen VALUES (NEW.id); RETURN NEW; END $$;
    CREATE TRIGGER window_note AFTER INSERT ON public.campaigns FOR EACH ROW EXECUTE FUNCTION window_note();
    COMMENT ON TABLE public.campaigns IS 'window comment'`;
}

async function carriedToV2(c: pg.ClientBase, role: string) {
  const q = async (text: string, values: unknown[] = []) => (await c.query(text, values)).rows[0];
  return {
    // the names resolve to v2: campaigns.user_id is uuid there (text in legacy)
    v2: (
      await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
                WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`)
    ).t,
    select: (await q(`SELECT has_table_privilege($1, 'public.campaigns', 'SELECT') AS b`, [role])).b,
    update: (await q(`SELECT has_table_privilege($1, 'public.campaigns', 'UPDATE') AS b`, [role])).b,
    delete: (await q(`SELECT has_table_privilege($1, 'public.campaigns', 'DELETE') AS b`, [role])).b,
    column: (
      await q(`SELECT has_column_privilege($1, 'public.generated_domains', 'id', 'SELECT') AS b`, [role])
    ).b,
    rls: (await q(`SELECT relrowsecurity AS b FROM pg_class WHERE oid = 'public.campaigns'::regclass`)).b,
    policy: (
      await q(
        `SELECT count(*)::int AS n FROM pg_policy WHERE polrelid = 'public.campaigns'::regclass AND polname = $1`,
        [`${role}_pending`],
      )
    ).n,
    trigger: (
      await q(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.campaigns'::regclass AND tgname = 'window_note'`,
      )
    ).n,
    comment: (await q(`SELECT obj_description('public.campaigns'::regclass, 'pg_class') AS d`)).d,
  };
}

const EXPECTED = {
  v2: 'uuid',
  select: true,
  update: true,
  delete: false,
  column: true,
  rls: true,
  policy: 1,
  trigger: 1,
  comment: 'window comment',
};

/** A consolidated database with a role that may DELETE on campaigns (the window revokes it). */
async function ready(prefix: string) {
  const url = await freshDatabase('seeded', prefix);
  const role = `win_${tag()}`;
  await withClient(url, (c) =>
    c.query(`CREATE ROLE "${role}" NOLOGIN; GRANT DELETE ON public.campaigns TO "${role}"`),
  );
  await consolidate(url, { batchSize: 500 });
  return { url, role };
}

/** Cut over holding at `hold`; when the hold starts another session commits the window's changes. */
async function cutoverWithWindow(
  url: string,
  role: string,
  hold: Pick<Faults, 'holdAfter' | 'holdBefore'>,
  changes = windowChanges(role),
) {
  const events: EngineEvent[] = [];
  let committed: Promise<unknown> | undefined;
  const co = await cutover(url, {
    lockTimeoutMs: 2000,
    onEvent: (e) => events.push(e),
    faults: {
      ...hold,
      holdMs: 100,
      // the hold lasts until the changes are committed (nothing of the cutover's holds a lock yet)
      onHold: () => {
        committed ??= withClient(url, (c) => c.query(changes));
        return committed;
      },
    },
  });
  await committed;
  const check = events.find(
    (e) => e.type === 'step' && e.step === 'cutover:check-surface' && e.status === 'done',
  ) as { details?: Record<string, unknown> } | undefined;
  const warnings = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
  return { co, source: check?.details?.source, warnings };
}

describe('surface read before the cutover locks', () => {
  it('changes committed right before the LOCK are seen by the fingerprint and read again under the locks', async () => {
    const { url, role } = await ready('surfwin');
    const r = await cutoverWithWindow(url, role, { holdBefore: 'cutover:lock' });
    expect(r.co.attempts).toBe(1);
    expect(r.source).toBe('read under the lock');
    expect(r.warnings.some((w) => w.includes('read again under the locks'))).toBe(true);
    await withClient(url, async (c) => {
      expect(await carriedToV2(c, role)).toEqual(EXPECTED);
      // the default privilege stays where it was made (per schema and role, nothing moves)
      const d = await c.query(`SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclacl::text LIKE $1`, [
        `%${role}%`,
      ]);
      expect(d.rows[0].n).toBe(1);
    });
  });

  it('a function comment made right before the LOCK is seen, and the rollback point keeps it', async () => {
    const { url, role } = await ready('surffn');
    const r = await cutoverWithWindow(
      url,
      role,
      { holdBefore: 'cutover:lock' },
      `COMMENT ON FUNCTION public.trigger_set_timestamp() IS 'window function comment'`,
    );
    // only pg_description changed: the fingerprint covers function comments (the point is read with the surface)
    expect(r.source).toBe('read under the lock');
    await withClient(url, async (c) => {
      const p = await c.query(
        `SELECT f->>'comment' AS comment FROM consolidation.rollback_points, jsonb_array_elements(details->'functions') f
          WHERE rollback_point_id = $1 AND f->>'signature' = 'public.trigger_set_timestamp()'`,
        [r.co.rollbackPoint],
      );
      expect(p.rows).toEqual([{ comment: 'window function comment' }]);
    });
  });

  it('changes committed after the read and before the attempt are read again outside the locks', async () => {
    const { url, role } = await ready('surfpre');
    const r = await cutoverWithWindow(url, role, { holdAfter: 'cutover:read-surface' });
    // beforeAttempt found the fingerprint changed and read again: the check under the lock agrees
    expect(r.source).toBe('cached');
    expect(r.warnings).toEqual([]);
    await withClient(url, async (c) => expect(await carriedToV2(c, role)).toEqual(EXPECTED));
  });

  it('a role created elsewhere right before the LOCK leaves the read current; one it saw renamed does not', async () => {
    // roles are cluster-wide: another application's new role is in neither matrix
    const { url, role } = await ready('surfrole');
    const other = `other_${tag()}`;
    const created = await cutoverWithWindow(
      url,
      role,
      { holdBefore: 'cutover:lock' },
      `CREATE ROLE "${other}" NOLOGIN`,
    );
    expect(created.source).toBe('cached');
    expect(created.warnings).toEqual([]);
    await withClient(url, (c) => c.query(`DROP ROLE "${other}"`));

    const { url: url2, role: role2 } = await ready('surfren');
    const renamed = `${role2}_renamed`;
    const r = await cutoverWithWindow(
      url2,
      role2,
      { holdBefore: 'cutover:lock' },
      `ALTER ROLE "${role2}" RENAME TO "${renamed}"`,
    );
    expect(r.source).toBe('read under the lock');
    await withClient(url2, async (c) => {
      const d = await c.query(`SELECT has_table_privilege($1, 'public.campaigns', 'DELETE') AS b`, [renamed]);
      expect(d.rows[0].b).toBe(true); // on v2, under its new name
    });
  });

  it('without changes the read before the locks is used, and rollback execute reads its surface the same way', async () => {
    const { url, role } = await ready('surfnone');
    const events: EngineEvent[] = [];
    const co = await cutover(url, { lockTimeoutMs: 2000, onEvent: (e) => events.push(e) });
    const step = (id: string) =>
      (
        events.find((e) => e.type === 'step' && e.step === id && e.status === 'done') as {
          details?: Record<string, unknown>;
        }
      )?.details;
    expect(step('cutover:check-surface')?.source).toBe('cached');
    // a grant on v2 during the rollback window, then rollback execute with a change right before its LOCK
    await withClient(url, (c) => c.query(`GRANT INSERT ON public.campaigns TO "${role}"`));
    const rbEvents: EngineEvent[] = [];
    let committed: Promise<unknown> | undefined;
    await executeRollback(url, co.rollbackPoint, {
      reason: 'surface window test',
      lockTimeoutMs: 2000,
      onEvent: (e) => rbEvents.push(e),
      faults: {
        holdBefore: 'rollback:lock',
        holdMs: 100,
        onHold: () => {
          committed ??= withClient(url, (c) =>
            c.query(`CREATE TABLE public.window_rb (campaign_id uuid REFERENCES public.campaigns (id))`),
          );
          return committed;
        },
      },
    });
    await committed;
    const lock = rbEvents.find(
      (e) => e.type === 'step' && e.step === 'rollback:lock' && e.status === 'done',
    ) as { details?: Record<string, unknown> };
    expect(lock.details?.surface).toBe('read under the lock');
    await withClient(url, async (c) => {
      // legacy is live again: user_id is text; the other application's foreign key followed it back
      const t = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
        WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`);
      expect(t.rows[0].t).toBe('text');
      const fk = await c.query(
        `SELECT confrelid::regclass::text AS t FROM pg_constraint WHERE conrelid = 'public.window_rb'::regclass AND contype = 'f'`,
      );
      expect(fk.rows.map((x) => x.t)).toEqual(['campaigns']);
    });
  });
});
