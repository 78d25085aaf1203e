/** Integrity monitoring with real faults: orphans behind disabled FK triggers, a failed concurrent index, and more. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createBackup,
  integrityStatus,
  runIntegrityChecks,
  setupIntegrityChecks,
  validateReferentialIntegrity,
  withClient,
} from '../../src/index.js';
import { freshDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/dfc.js');

const byName = async (url: string) =>
  Object.fromEntries((await integrityStatus(url)).map((s) => [s.check_name, s]));

describe('dfc integrity', () => {
  it('a clean database passes; each injected fault is reported with samples, and resolved once fixed', async () => {
    const url = await freshDatabase('seeded', 'integ');
    const setup = await setupIntegrityChecks(url);
    expect(setup.added).toContain(
      'fk_orphans:public.generated_domains.generated_domains_domain_generation_campaign_id_fkey',
    );
    expect(setup.added).toContain('sequences_behind');
    expect((await setupIntegrityChecks(url)).added).toEqual([]);
    await withClient(url, (c) =>
      c.query(`CREATE MATERIALIZED VIEW public.t_campaign_count AS SELECT id, name FROM public.campaigns`),
    );
    const clean = await runIntegrityChecks(url);
    expect(clean).toMatchObject({ errors: 0, violations: 0 });
    expect((await validateReferentialIntegrity(url)).valid).toBe(true);

    await createBackup(url, { name: 'gone' });
    const victim = await withClient(url, async (c) => {
      const v = await c.query<{ id: string }>(
        `SELECT domain_generation_campaign_id AS id FROM public.generated_domains GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      );
      // FK triggers off, as a careless bulk load would have them: the children stay behind
      await c.query('SET session_replication_role = replica');
      await c.query('DELETE FROM public.campaigns WHERE id = $1', [v.rows[0]!.id]);
      await c.query('RESET session_replication_role');
      await c.query(
        `ALTER TABLE public.personas ADD CONSTRAINT t_name_len CHECK (length(name) < 1000) NOT VALID`,
      );
      await c.query(`SELECT setval('auth.auth_audit_log_id_seq', 1)`);
      await c.query(
        `INSERT INTO public.campaigns (id, name, status) VALUES (uuid_generate_v4(), 't', 'pending')`,
      );
      await c.query('DROP SCHEMA dfc_backup_gone CASCADE');
      await c
        .query(`CREATE UNIQUE INDEX CONCURRENTLY t_bad_unique ON public.generated_domains (tld)`)
        .catch(() => {});
      return v.rows[0]!.id;
    });
    const orphans = await withClient(url, async (c) =>
      Number(
        (
          await c.query(
            'SELECT count(*) AS n FROM public.generated_domains WHERE domain_generation_campaign_id = $1',
            [victim],
          )
        ).rows[0].n,
      ),
    );
    expect(orphans).toBeGreaterThan(0);

    const r = await runIntegrityChecks(url);
    expect(r.errors).toBe(0);
    const s = await byName(url);
    const fk = s['fk_orphans:public.generated_domains.generated_domains_domain_generation_campaign_id_fkey']!;
    expect(fk).toMatchObject({ status: 'violations', severity: 'critical', last_violation_count: orphans });
    expect(fk.open_violation!.sample_keys).toHaveLength(Math.min(orphans, 5));
    expect(fk.open_violation!.sample_keys[0]).toEqual({ domain_generation_campaign_id: victim });
    expect(s.orphaned_generated_domains!.last_violation_count).toBe(orphans);
    expect(s.invalid_constraints!.open_violation!.sample_keys).toEqual([
      { constraint: 't_name_len', table: 'public.personas' },
    ]);
    expect(s.invalid_indexes!.open_violation!.sample_keys).toEqual([
      expect.objectContaining({ index: 't_bad_unique', table: 'public.generated_domains', valid: false }),
    ]);
    expect(s.sequences_behind!.open_violation!.sample_keys).toEqual([
      expect.objectContaining({ sequence: 'auth.auth_audit_log_id_seq', last_value: 1, is_called: true }),
    ]);
    expect(s.stale_materialized_views!.open_violation!.sample_keys).toEqual([
      expect.objectContaining({ matview: 'public.t_campaign_count' }),
    ]);
    expect(s.backup_registry_vs_reality!.open_violation!.sample_keys).toEqual([
      { backup_id: 'gone', problem: 'schema missing', schema: 'dfc_backup_gone' },
    ]);
    const ri = await validateReferentialIntegrity(url);
    expect(ri.valid).toBe(false);
    expect(ri.violations.map((v) => v.constraint)).toContain(
      'generated_domains_domain_generation_campaign_id_fkey',
    );

    const cli = await run(process.execPath, [BIN, '--database-url', url, '--json', 'integrity', 'run'], {
      env: { ...process.env, DATABASE_URL: '' },
    }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(cli).toBe(1);

    // fix three of them: their open violations are resolved by the next run
    await withClient(url, async (c) => {
      await c.query('REFRESH MATERIALIZED VIEW public.t_campaign_count');
      await c.query(`SELECT setval('auth.auth_audit_log_id_seq', (SELECT max(id) FROM auth.auth_audit_log))`);
      await c.query('DROP INDEX public.t_bad_unique');
    });
    await runIntegrityChecks(url);
    const after = await byName(url);
    for (const k of ['stale_materialized_views', 'sequences_behind', 'invalid_indexes'])
      expect(after[k]).toMatchObject({ status: 'ok', open_violation: null });
    const history = await withClient(url, (c) =>
      c.query(
        `SELECT count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved, count(*) FILTER (WHERE resolved_at IS NULL) AS open
           FROM safety.integrity_violations WHERE check_name = 'sequences_behind'`,
      ),
    );
    expect(history.rows[0]).toEqual({ resolved: '2', open: '0' });
  });
});
