/**
 * Other applications' objects made on DomainFlow tables BEFORE consolidation (issue 8 item 1,
 * task 3): a trigger on campaigns, a view over generated_domains, a foreign key from another
 * schema's table to campaigns, an RLS policy for a reporting role, a publication. validate reports
 * each as "will be carried", consolidate accepts them, and each works the same after cutover,
 * after rollback and after rolling forward (the trigger fires, the view returns the same rows, the
 * foreign key still enforces, the policy filters, the publication publishes the live table). What
 * cannot be carried (a column it uses changes type in v2) is refused with CONSOLIDATION_01 naming
 * each object and the fix, and the refusal changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { executeRollback } from '../../src/engine/rollback.js';
import { verify } from '../../src/engine/verify.js';
import { DfcError } from '../../src/errors.js';
import { validateDatabase } from '../../src/validate/validate.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';

const OBJECTS = (rep: string) => `CREATE SCHEMA other_app;
  CREATE TABLE other_app.seen (campaign_id uuid);
  CREATE FUNCTION other_app.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO other_app.seen VALUES (NEW.id); RETURN NEW; END $$;
  CREATE TRIGGER other_app_note AFTER INSERT ON public.campaigns FOR EACH ROW EXECUTE FUNCTION other_app.note();
  CREATE VIEW other_app.early_domains AS SELECT id, domain_name, offset_index FROM public.generated_domains WHERE offset_index < 50;
  CREATE TABLE other_app.campaign_notes (id serial PRIMARY KEY, campaign_id uuid NOT NULL REFERENCES public.campaigns (id), note text);
  INSERT INTO other_app.campaign_notes (campaign_id, note) SELECT id, 'first' FROM public.campaigns ORDER BY id LIMIT 2;
  CREATE ROLE "${rep}" NOLOGIN;
  GRANT USAGE ON SCHEMA public TO "${rep}";
  GRANT SELECT ON public.campaigns TO "${rep}";
  ALTER TABLE public.campaigns ENABLE ROW LEVEL SECURITY;
  CREATE POLICY other_app_completed ON public.campaigns FOR SELECT TO "${rep}" USING (status = 'completed');
  CREATE PUBLICATION other_app_pub FOR TABLE public.campaigns, public.generated_domains`;

interface Behaviour {
  viewRows: string[];
  policyRows: number;
  completed: number;
  publishes: string[];
}

/** What the other application observes; run after each step (asserts the trigger and FK itself). */
async function observe(c: pg.ClientBase, rep: string, label: string): Promise<Behaviour> {
  const view = await c.query<{ k: string }>(
    `SELECT id || ' ' || domain_name || ' ' || offset_index AS k FROM other_app.early_domains ORDER BY 1`,
  );
  // the trigger fires on the live campaigns table
  const seen0 = (await c.query('SELECT count(*)::int AS n FROM other_app.seen')).rows[0].n;
  const ins = await c.query(
    `INSERT INTO public.campaigns (name, campaign_type, status) SELECT $1, campaign_type, 'pending' FROM public.campaigns LIMIT 1 RETURNING id`,
    [`probe ${label}`],
  );
  const seen = await c.query('SELECT count(*)::int AS n FROM other_app.seen WHERE campaign_id = $1', [
    ins.rows[0].id,
  ]);
  expect(seen.rows[0].n, `${label}: trigger fired`).toBe(1);
  expect((await c.query('SELECT count(*)::int AS n FROM other_app.seen')).rows[0].n).toBe(seen0 + 1);
  // the foreign key enforces against the live campaigns table, both ways
  const bad = await c
    .query(`INSERT INTO other_app.campaign_notes (campaign_id, note) VALUES ($1, 'x')`, [
      '00000000-0000-4000-8000-000000000000',
    ])
    .catch((e) => e);
  expect(bad.code, `${label}: FK refuses an unknown campaign`).toBe('23503');
  await c.query(`INSERT INTO other_app.campaign_notes (campaign_id, note) VALUES ($1, $2)`, [
    ins.rows[0].id,
    label,
  ]);
  const del = await c.query('DELETE FROM public.campaigns WHERE id = $1', [ins.rows[0].id]).catch((e) => e);
  expect(del.code, `${label}: FK protects a referenced campaign`).toBe('23503');
  await c.query('DELETE FROM other_app.campaign_notes WHERE campaign_id = $1', [ins.rows[0].id]);
  await c.query('DELETE FROM other_app.seen WHERE campaign_id = $1', [ins.rows[0].id]);
  await c.query('DELETE FROM public.campaigns WHERE id = $1', [ins.rows[0].id]);
  await c.query(`SET ROLE "${rep}"`);
  const pol = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.campaigns');
  await c.query('RESET ROLE');
  const completed = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM public.campaigns WHERE status = 'completed'`,
  );
  const pub = await c.query<{ t: string }>(
    `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = 'other_app_pub' ORDER BY 1`,
  );
  // the publication names the live relations, not a copy in a dfc_ schema
  const pubrel = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_publication_rel pr JOIN pg_class cl ON cl.oid = pr.prrelid
       WHERE cl.oid IN ('public.campaigns'::regclass, 'public.generated_domains'::regclass)`,
  );
  expect(pubrel.rows[0]!.n, `${label}: publication holds the live tables`).toBe(2);
  return {
    viewRows: view.rows.map((r) => r.k),
    policyRows: pol.rows[0]!.n,
    completed: completed.rows[0]!.n,
    publishes: pub.rows.map((r) => r.t),
  };
}

/** Row checksums of DomainFlow's and the other application's tables (not dfc's bookkeeping). */
async function userData(url: string) {
  const all = await dataChecksums(url);
  return Object.fromEntries(
    Object.entries(all).filter(([k]) => !/^(consolidation|monitoring|safety|benchmarks)\./.test(k)),
  );
}

describe("other applications' objects made before consolidation", () => {
  it('validate says will be carried; each works the same after cutover, rollback and roll forward', async () => {
    const url = await freshDatabase('seeded', 'foreign');
    const rep = `other_rep_${randomBytes(3).toString('hex')}`;
    await withClient(url, (c) => c.query(OBJECTS(rep)));
    const report = await validateDatabase(url);
    expect(report.problems).toEqual([]);
    expect(report.ready_for_consolidation).toBe(true);
    const carried = report.warnings.filter((w) => w.code === 'foreign_dependent_carried');
    expect(carried.map((w) => w.reason.split(' depends')[0]).sort()).toEqual([
      'foreign_key other_app.campaign_notes.campaign_notes_campaign_id_fkey',
      'policy public.campaigns.other_app_completed',
      'publication other_app_pub',
      'publication other_app_pub',
      'trigger public.campaigns.other_app_note',
      'view other_app.early_domains',
    ]);
    expect(carried[0]!.reason).toContain('will be carried');
    expect(report.facts.dependents!.every((d) => d.carried)).toBe(true);

    const before = await withClient(url, (c) => observe(c, rep, 'legacy'));
    expect(before.viewRows.length).toBeGreaterThan(0);
    expect(before.policyRows).toBe(before.completed);
    expect(before.policyRows).toBeGreaterThan(0);
    expect(before.publishes).toEqual(['public.campaigns', 'public.generated_domains']);

    await consolidate(url, { batchSize: 500 });
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    expect(co.carried.carried.map((x) => x.kind).sort()).toEqual([
      'foreign key',
      'policy',
      'trigger',
      'view',
    ]);
    await withClient(url, async (c) => {
      const t = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
        WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`);
      expect(t.rows[0].t).toBe('uuid'); // v2 is live
      expect(await observe(c, rep, 'v2')).toEqual(before);
    });
    expect((await verify(url)).checks.filter((x) => !x.passed)).toEqual([]);

    await executeRollback(url, co.rollbackPoint, { reason: 'foreign objects', lockTimeoutMs: 1000 });
    await withClient(url, async (c) => {
      const t = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
        WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`);
      expect(t.rows[0].t).toBe('text'); // legacy is live again
      expect(await observe(c, rep, 'rolled back')).toEqual(before);
    });

    await cutover(url, { lockTimeoutMs: 1000 });
    await withClient(url, async (c) => {
      expect(await observe(c, rep, 'rolled forward')).toEqual(before);
    });
    expect((await verify(url)).checks.filter((x) => !x.passed)).toEqual([]);
  });

  it('what cannot be carried is refused with CONSOLIDATION_01 naming each object and the fix; nothing changes', async () => {
    const url = await freshDatabase('seeded', 'foreignno');
    // campaigns.user_id is text in legacy and uuid in v2: these cannot be recreated as they are
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA other_app;
        CREATE VIEW other_app."owner list" AS SELECT id, user_id FROM public.campaigns;
        CREATE FUNCTION other_app.flag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER "Flag System" BEFORE UPDATE ON public.campaigns FOR EACH ROW
          WHEN (NEW.user_id = 'system') EXECUTE FUNCTION other_app.flag();
        CREATE VIEW other_app.fine AS SELECT id, name FROM public.campaigns`),
    );
    const report = await validateDatabase(url);
    expect(report.ready_for_consolidation).toBe(false);
    const blocking = report.problems.filter((p) => p.code === 'foreign_dependent');
    expect(blocking.map((p) => p.reason.split(' depends')[0]).sort()).toEqual([
      'trigger public.campaigns.Flag System',
      'view other_app.owner list',
    ]);
    expect(blocking.find((p) => p.reason.startsWith('view'))!.reason).toContain(
      'public.campaigns.user_id is text in legacy, uuid in v2',
    );
    expect(blocking.find((p) => p.reason.startsWith('trigger'))!.fix).toContain(
      'DROP TRIGGER "Flag System" ON public.campaigns',
    );
    expect(blocking.find((p) => p.reason.startsWith('view'))!.fix).toContain(
      'DROP VIEW other_app."owner list"',
    );
    // the carriable one is still reported as carried
    expect(
      report.warnings.filter((w) => w.code === 'foreign_dependent_carried').map((w) => w.reason),
    ).toEqual([expect.stringContaining('view other_app.fine')]);

    const catalog = await catalogChecksum(url);
    const data = await userData(url);
    const err = await consolidate(url, { batchSize: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_01');
    expect(err.message).toContain('trigger public.campaigns.Flag System');
    expect(err.message).toContain('view other_app.owner list');
    expect(err.message).toContain('nothing was changed');
    expect(err.fix).toContain('fix each problem');
    expect(err.message).toContain('DROP TRIGGER "Flag System" ON public.campaigns');
    expect(await catalogChecksum(url)).toBe(catalog);
    expect(await userData(url)).toEqual(data);
    await withClient(url, async (c) => {
      const s = await c.query(`SELECT to_regnamespace('dfc_shadow_public') AS s`);
      expect(s.rows[0].s).toBeNull();
    });
  });
});
