/**
 * Statement-level change capture (src/engine/capture.ts): exact in both directions for multi-row
 * statements, primary-key changes (single and composite keys), upserts, deletes, TRUNCATE and a
 * session_replication_role = replica writer; not steerable through the caller's search_path; and a
 * database whose run started with an earlier version's row triggers still cuts over exactly.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { Session } from '../../src/db/session.js';
import { captureState, ensureCaptureFunctions, installCapture } from '../../src/engine/capture.js';
import { consolidate, mappedTables } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { finalizeCutover } from '../../src/engine/finalize.js';
import { legacyLiveOf, liveOf } from '../../src/engine/names.js';
import { verify } from '../../src/engine/verify.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const triggers = (c: pg.ClientBase) =>
  c.query<{ rel: string; tgname: string; row: boolean; enabled: string }>(
    `SELECT tgrelid::regclass::text AS rel, tgname, (tgtype & 1) = 1 AS row, tgenabled AS enabled
       FROM pg_trigger WHERE tgname LIKE 'dfc_capture%' ORDER BY 1, 2`,
  );

/** The application's statements the capture must follow exactly (run on legacy, then on v2). */
async function writes(c: pg.ClientBase, truncate: string): Promise<void> {
  // one 100-row INSERT, a 50-row UPDATE, a primary-key change of 5 rows, a 7-row DELETE
  await c.query(
    `INSERT INTO public.audit_logs (id, action, entity_type, timestamp)
     SELECT uuid_generate_v4(), 'capture_test', 'test', now() FROM generate_series(1, 100)`,
  );
  await c.query(
    `UPDATE public.audit_logs SET details = '{"touched": true}' WHERE id IN (SELECT id FROM public.audit_logs ORDER BY id LIMIT 50)`,
  );
  await c.query(
    `UPDATE public.audit_logs SET id = uuid_generate_v4() WHERE id IN (SELECT id FROM public.audit_logs ORDER BY id DESC LIMIT 5)`,
  );
  await c.query(
    'DELETE FROM public.audit_logs WHERE id IN (SELECT id FROM public.audit_logs ORDER BY timestamp LIMIT 7)',
  );
  // a composite key changing: a user's role replaced by one the user does not have yet
  const r = await c.query(
    `UPDATE auth.user_roles ur SET role_id = x.role_id
       FROM (SELECT u.user_id, u.role_id AS old_role, ro.id AS role_id FROM auth.user_roles u CROSS JOIN auth.roles ro
              WHERE NOT EXISTS (SELECT 1 FROM auth.user_roles y WHERE y.user_id = u.user_id AND y.role_id = ro.id) LIMIT 1) x
      WHERE ur.user_id = x.user_id AND ur.role_id = x.old_role`,
  );
  expect(r.rowCount).toBe(1);
  // an upsert: the INSERT and the UPDATE half each reach their trigger
  await c.query(
    `INSERT INTO public.audit_logs (id, action, entity_type, timestamp)
     SELECT id, 'upserted', 'test', now() FROM public.audit_logs ORDER BY id LIMIT 3
     ON CONFLICT (id) DO UPDATE SET action = EXCLUDED.action`,
  );
  // a writer with triggers off for replication: ENABLE ALWAYS captures it anyway
  await c.query('BEGIN');
  await c.query('SET LOCAL session_replication_role = replica');
  await c.query(
    `INSERT INTO public.audit_logs (id, action, entity_type, timestamp) VALUES (uuid_generate_v4(), 'replica', 'test', now())`,
  );
  await c.query('COMMIT');
  await c.query(`TRUNCATE ${truncate}`);
}

describe('statement-level change capture', () => {
  it('follows multi-row, key-changing, upsert, replica and TRUNCATE writes exactly, forward and reverse', async () => {
    const url = await freshDatabase('seeded', 'cap');
    expect((await consolidate(url, { batchSize: 500 })).state).toBe('ready_for_cutover');
    await withClient(url, async (c) => {
      const all = (await triggers(c)).rows;
      // forward on every legacy table; reverse on every shadow table already, dormant there
      const t = all.filter((x) => x.tgname.startsWith('dfc_capture_forward'));
      const tables = new Set(t.map((x) => x.rel));
      expect(tables.size).toBe(mappedTables().length);
      expect([...tables].every((r) => !r.startsWith('dfc_'))).toBe(true);
      const reverse = all.filter((x) => x.tgname.startsWith('dfc_capture_reverse'));
      expect(new Set(reverse.map((x) => x.rel)).size).toBe(mappedTables().length);
      expect(reverse.every((x) => x.rel.startsWith('dfc_shadow_'))).toBe(true);
      // four statement triggers per table, every one ENABLE ALWAYS
      expect(all.length).toBe(8 * tables.size);
      expect(all.every((x) => !x.row && x.enabled === 'A')).toBe(true);
      await writes(c, 'public.campaign_jobs');
      // the key change logged both keys: 5 old keys no new row has
      const moved = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE table_name = 'public.audit_logs' AND old_key IS NOT NULL AND new_key IS NULL`,
      );
      expect(moved.rows[0].n).toBe(5 + 7);
      const truncated = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE table_name = 'public.campaign_jobs'`,
      );
      expect(truncated.rows[0].n).toBeGreaterThan(0);
    });
    await cutover(url);
    await withClient(url, async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM public.campaign_jobs')).rows[0].n).toBe(0);
      expect(
        (await c.query(`SELECT count(*)::int AS n FROM public.audit_logs WHERE action = 'replica'`)).rows[0]
          .n,
      ).toBe(1);
      const t = (await triggers(c)).rows;
      // live: only reverse capture; the rollback copy keeps its forward triggers, dormant
      const live = t.filter((x) => !x.rel.startsWith('dfc_rollback_'));
      expect(live.length).toBeGreaterThan(0);
      expect(
        live.every((x) => x.tgname.startsWith('dfc_capture_reverse') && !x.row && x.enabled === 'A'),
      ).toBe(true);
      expect(
        t
          .filter((x) => x.rel.startsWith('dfc_rollback_'))
          .every((x) => x.tgname.startsWith('dfc_capture_forward')),
      ).toBe(true);
      // dormant means it logs nothing: the tool's own writes to the copy (the reverse applier's)
      // (in a transaction rolled back: the copy must stay what verify compares v2 with)
      const logged = `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE direction = 'forward'`;
      await c.query('BEGIN');
      const before = (await c.query(logged)).rows[0].n;
      const hit = await c.query(
        `UPDATE dfc_rollback_public.audit_logs SET action = action WHERE id IN (SELECT id FROM dfc_rollback_public.audit_logs LIMIT 5)`,
      );
      expect(hit.rowCount).toBe(5);
      const gone = await c.query(
        `DELETE FROM dfc_rollback_public.audit_logs WHERE id IN (SELECT id FROM dfc_rollback_public.audit_logs LIMIT 3)`,
      );
      expect(gone.rowCount).toBe(3);
      expect((await c.query(logged)).rows[0].n).toBe(before);
      await c.query('ROLLBACK');
    });
    let rep = await verify(url);
    expect(rep.checks.filter((x) => !x.passed)).toEqual([]);

    // reverse: the same statements on v2, applied to the rollback copy inside verify's snapshot
    await withClient(url, (c) => writes(c, 'auth.auth_audit_log'));
    rep = await verify(url);
    expect(rep.checks.filter((x) => !x.passed)).toEqual([]);
    await withClient(url, async (c) => {
      expect(
        (await c.query('SELECT count(*)::int AS n FROM dfc_rollback_auth.auth_audit_log')).rows[0].n,
      ).toBe(0);
    });

    // finalize removes all four reverse triggers of every table
    await finalizeCutover(url, { keepDays: 0 });
    await withClient(url, async (c) => expect((await triggers(c)).rows).toEqual([]));
  });

  it('lets an application role write, and cannot be steered through its search_path', async () => {
    const url = await freshDatabase('seeded', 'capsp');
    expect((await consolidate(url, { batchSize: 500 })).state).toBe('ready_for_cutover');
    const app = await createAppRole(url);
    await withClient(url, async (c) => {
      // objects a caller could put ahead of pg_catalog: if capture resolved any name through the
      // caller's path, the write would fail with 'steered'
      await c.query(`CREATE SCHEMA evil AUTHORIZATION ${app.role}`);
      await c.query(`CREATE FUNCTION evil.jsonb_build_object(text, uuid) RETURNS jsonb LANGUAGE plpgsql AS
        $$BEGIN RAISE EXCEPTION 'steered'; END$$`);
      await c.query(`CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
        $$BEGIN RAISE EXCEPTION 'steered'; END$$`);
      await c.query('CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq)');
      await c.query(`CREATE TABLE evil.capture_log (LIKE consolidation.capture_log)`);
      await c.query(`GRANT USAGE ON SCHEMA evil TO PUBLIC`);
      // the generated functions: definer, pinned path, not executable by PUBLIC
      const fns = await c.query<{ ok: boolean }>(
        `SELECT bool_and(p.prosecdef AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)
                         AND NOT has_function_privilege('public', p.oid, 'EXECUTE')) AS ok, count(*)::int AS n
           FROM pg_proc p WHERE p.pronamespace = 'consolidation'::regnamespace AND p.proname LIKE 'capture\\_%\\_\\_%'`,
      );
      expect(fns.rows[0]).toEqual({ ok: true, n: 2 * mappedTables().length });
      // current functions are left alone: under the cutover's locks this is one catalog lookup
      expect(await ensureCaptureFunctions(c, mappedTables(), 'reverse')).toBe(0);
      expect(await ensureCaptureFunctions(c, mappedTables(), 'forward')).toBe(0);
    });
    await withClient(app.url, async (c) => {
      // (the statements below compare no text: evil.= would catch the application's own query)
      await c.query('SET search_path = evil, public, pg_catalog');
      const ids = await c.query<{ id: string }>(
        `INSERT INTO public.audit_logs (id, action, entity_type, timestamp)
         SELECT uuid_generate_v4(), 'app', 'test', now() FROM generate_series(1, 10) RETURNING id`,
      );
      await c.query('UPDATE public.audit_logs SET id = uuid_generate_v4() WHERE id = ANY ($1::uuid[])', [
        ids.rows.map((r) => r.id),
      ]);
      await c.query(`DELETE FROM public.audit_logs WHERE id IN (SELECT id FROM public.audit_logs LIMIT 2)`);
      // the application role cannot read or write the log itself
      await expect(c.query('SELECT 1 FROM consolidation.capture_log')).rejects.toMatchObject({
        code: '42501',
      });
    });
    await withClient(url, async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM evil.capture_log')).rows[0].n).toBe(0);
      const n = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE table_name = 'public.audit_logs'`,
      );
      expect(n.rows[0].n).toBe(10 + 10 + 10 + 2);
      await c.query('DROP SCHEMA evil CASCADE');
    });
    await cutover(url);
    expect((await verify(url)).checks.filter((x) => !x.passed)).toEqual([]);
  });

  it("keeps working with an earlier version's row triggers mid-consolidation, and replaces them on install", async () => {
    const url = await freshDatabase('seeded', 'caprow');
    expect((await consolidate(url, { batchSize: 500 })).state).toBe('ready_for_cutover');
    const byName = (n: string) => mappedTables().find((t) => t.def.name === n)!;
    // what a run started by the earlier version left on two tables: one row trigger each
    await withClient(url, async (c) => {
      for (const name of ['audit_logs', 'campaign_jobs']) {
        const t = byName(name);
        const on = `public.${name}`;
        await c.query(`DROP TRIGGER dfc_capture_forward ON ${on}; DROP TRIGGER dfc_capture_forward_update ON ${on};
          DROP TRIGGER dfc_capture_forward_delete ON ${on}; DROP TRIGGER dfc_capture_forward_truncate ON ${on};
          CREATE TRIGGER dfc_capture_forward AFTER INSERT OR UPDATE OR DELETE ON ${on}
            FOR EACH ROW EXECUTE FUNCTION consolidation.capture_change('forward', '${t.captureName.forward}', 'id');
          ALTER TABLE ${on} ENABLE ALWAYS TRIGGER dfc_capture_forward`);
      }
      expect(await captureState(c, legacyLiveOf(byName('audit_logs').def), 'forward')).toBe('row');
      // the row trigger still logs (the same log, the same applier)
      await c.query(
        `UPDATE public.audit_logs SET id = uuid_generate_v4() WHERE id IN (SELECT id FROM public.audit_logs ORDER BY id LIMIT 4)`,
      );
      await c.query(
        `DELETE FROM public.campaign_jobs WHERE id IN (SELECT id FROM public.campaign_jobs LIMIT 3)`,
      );
    });
    // installing again (a re-run of capture:install) replaces the row trigger with the statement set
    const s = await Session.open(url, 'dfc-test');
    try {
      const t = byName('audit_logs');
      expect(await installCapture(s, t, legacyLiveOf(t.def), 'forward')).toBe(true);
      expect(await captureState(s.client, legacyLiveOf(t.def), 'forward')).toBe('statement');
      expect(await installCapture(s, t, legacyLiveOf(t.def), 'forward')).toBe(false);
    } finally {
      await s.close();
    }
    // campaign_jobs still has its row trigger (no guard: it would log the copy's writes): the
    // cutover replaces it before the locks, so the copy carries only dormant statement triggers
    await cutover(url);
    await withClient(url, async (c) => {
      expect(await captureState(c, liveOf(byName('campaign_jobs').def), 'reverse')).toBe('statement');
      const forward = (await triggers(c)).rows.filter((x) => x.tgname.startsWith('dfc_capture_forward'));
      expect(forward.filter((x) => x.row || !x.rel.startsWith('dfc_rollback_'))).toEqual([]);
      expect(forward.filter((x) => x.rel === 'dfc_rollback_public.campaign_jobs')).toHaveLength(4);
    });
    expect((await verify(url)).checks.filter((x) => !x.passed)).toEqual([]);
  });
});
