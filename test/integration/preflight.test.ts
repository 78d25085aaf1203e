/**
 * One preflight for `validate` and the plans: whatever validate calls blocking stops consolidate
 * (and its dry run) before any change, with validate's reason and fix; and validate does not call
 * "ready" what consolidate then refuses.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { planConsolidation } from '../../src/engine/plan.js';
import { DfcError } from '../../src/errors.js';
import { installV2 } from '../../src/install.js';
import { legacyTableNames } from '../../src/validate/checks.js';
import { validateDatabase } from '../../src/validate/validate.js';
import { catalogChecksum } from '../helpers/checksums.js';
import { adminUrl, freshDatabase } from '../helpers/db.js';

/** Consolidate must refuse with exactly validate's problems, and leave the catalog as it was. */
async function refusesLikeValidate(url: string, asUrl = url): Promise<{ codes: string[]; error: DfcError }> {
  const report = await validateDatabase(asUrl);
  expect(report.ready_for_consolidation).toBe(false);
  const before = await catalogChecksum(url);
  const error = await consolidate(asUrl).catch((e) => e);
  expect(error).toBeInstanceOf(DfcError);
  for (const p of report.problems) {
    expect(error.message).toContain(p.reason);
    expect(report.problems.length === 1 ? error.fix : error.message).toContain(p.fix);
  }
  expect(error.message).toContain('nothing was changed');
  expect(await catalogChecksum(url)).toBe(before);
  // the dry run is refused the same way
  const dry = await planConsolidation(asUrl).catch((e) => e);
  expect(dry).toBeInstanceOf(DfcError);
  expect(dry.message).toBe(error.message);
  return { codes: report.problems.map((p) => p.code), error };
}

describe('validate and consolidate agree', () => {
  it('a non-superuser who owns every table: validate says not ready, consolidate refuses the same way', async () => {
    const url = await freshDatabase('legacy');
    const role = `dfc_own_${randomBytes(4).toString('hex')}`;
    const db = decodeURIComponent(new URL(url).pathname.slice(1));
    await withClient(adminUrl(), (c) =>
      c.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER PASSWORD 'pw-${role}'`),
    );
    try {
      await withClient(url, async (c) => {
        await c.query(`GRANT CONNECT, CREATE ON DATABASE "${db}" TO ${role};
          GRANT USAGE, CREATE ON SCHEMA public, auth TO ${role}`);
        for (const t of legacyTableNames()) {
          const [s, n] = t.split('.');
          const exists = await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [t]);
          if (exists.rows[0].ok) await c.query(`ALTER TABLE "${s}"."${n}" OWNER TO ${role}`);
        }
      });
      const u = new URL(url);
      u.username = role;
      u.password = `pw-${role}`;
      const { codes, error } = await refusesLikeValidate(url, u.toString());
      // the owner has every privilege validate checked before; superuser is what consolidate needs
      expect(codes).toEqual(['privilege_superuser']);
      expect(error.code).toBe('DFC_PRIVILEGE');
      expect(error.message).toMatch(/is not a superuser/);
    } finally {
      await withClient(adminUrl(), async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${db}"`).catch(() => {});
        await c.query(`DROP ROLE ${role}`);
      }).catch(() => {});
    }
  });

  it('a missing extension stops consolidate before any change (it used to fail late, at the views step)', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, (c) => c.query('DROP EXTENSION pgcrypto CASCADE'));
    const { codes, error } = await refusesLikeValidate(url);
    expect(codes).toEqual(['extension_missing']);
    expect(error.code).toBe('CONSOLIDATION_01');
    expect(error.fix).toContain('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    const s = await withClient(url, (c) => c.query(`SELECT to_regnamespace('dfc_shadow_public') AS s`));
    expect(s.rows[0].s).toBeNull();
  });

  const others: {
    name: string;
    template: 'legacy' | 'none' | 'empty';
    prepare: (url: string) => Promise<unknown>;
    codes: string[];
  }[] = [
    {
      name: 'a dirty migration state',
      template: 'legacy',
      prepare: (url) => withClient(url, (c) => c.query('UPDATE schema_migrations SET dirty = true')),
      codes: ['migration_dirty'],
    },
    {
      name: 'not DomainFlow',
      template: 'none',
      prepare: async () => {},
      codes: ['not_domainflow', 'extension_missing', 'extension_missing'],
    },
    {
      name: 'already on v2',
      template: 'empty',
      prepare: (url) => installV2(url),
      codes: ['already_consolidated'],
    },
    {
      name: 'a view of another application on a legacy column v2 changes (user_id text → uuid)',
      template: 'legacy',
      prepare: (url) =>
        withClient(url, (c) =>
          c.query(
            'CREATE SCHEMA reporting; CREATE VIEW reporting.owners AS SELECT id, user_id FROM public.campaigns',
          ),
        ),
      codes: ['foreign_dependent'],
    },
  ];
  for (const x of others)
    it(`${x.name}: refused with validate's reasons and fixes, nothing changed`, async () => {
      const url = await freshDatabase(x.template);
      await x.prepare(url);
      expect((await refusesLikeValidate(url)).codes).toEqual(x.codes);
    });
});
