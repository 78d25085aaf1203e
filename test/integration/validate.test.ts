import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBookkeeping } from '../../src/bookkeeping.js';
import { withClient } from '../../src/db/connection.js';
import { installV2 } from '../../src/install.js';
import { LEGACY_DIR, migrateUp } from '../../src/migrate/runner.js';
import { CAMPAIGN_STATUSES } from '../../src/schema/v2/tables-campaigns.js';
import { type ValidationReport, validateDatabase } from '../../src/validate/validate.js';
import { type DirtyKind, type SeedReport, seedDatabase } from '../../workload/seed.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { adminUrl, freshDatabase, urlFor } from '../helpers/db.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** Validate, and prove the database is byte-for-byte what it was (catalog and every table's rows). */
async function validateUnchanged(url: string, asRole?: string): Promise<ValidationReport> {
  const [cat, data] = [await catalogChecksum(url), await dataChecksums(url)];
  const report = await validateDatabase(asRole ?? url);
  expect(await catalogChecksum(url)).toBe(cat);
  expect(await dataChecksums(url)).toEqual(data);
  return report;
}

const codes = (r: ValidationReport) => r.problems.map((p) => p.code);

/** Which v2 conversion issue each dirty kind of the seed must show up as (null: v2 keeps such rows). */
const KIND_TO_ISSUE: Record<DirtyKind, string | null> = {
  campaigns_user_id_not_uuid: 'campaigns.user_id.not_uuid',
  campaigns_user_id_unknown_user: 'campaigns.user_id.unknown_user',
  campaigns_status_outside_v2: 'campaigns.status.not_allowed',
  http_params_source_type_invalid: 'http_keyword_campaign_params.source_type.not_allowed',
  audit_logs_user_id_not_uuid: 'audit_logs.user_id.not_uuid',
  audit_logs_client_ip_not_ip: 'audit_logs.client_ip.not_inet',
  generated_domains_orphaned: 'generated_domains.domain_generation_campaign_id.orphan',
  generated_domains_duplicate_offset: null,
};

async function cloneOf(url: string): Promise<string> {
  const src = decodeURIComponent(new URL(url).pathname.slice(1));
  const name = `v_${randomBytes(5).toString('hex')}`;
  await withClient(adminUrl(), (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${src}"`));
  return urlFor(name);
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(path.join(ROOT, 'node_modules/.bin/tsx'), ['cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DFC_DEBUG: '' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('dfc validate on seeded legacy data', () => {
  let clean: string;
  let dirty: string;
  let dirtySeed: SeedReport;

  beforeAll(async () => {
    clean = await freshDatabase('legacy');
    dirty = await freshDatabase('legacy');
    await seedDatabase(clean, { domains: 2000, seed: 11 });
    dirtySeed = await seedDatabase(dirty, { domains: 2000, seed: 11, dirty: true });
  });

  it('says ready on clean data, with the guide fields, and changes nothing', async () => {
    const r = await validateUnchanged(clean);
    expect(r.problems).toEqual([]);
    expect(r.ready_for_consolidation).toBe(true);
    expect(r).toMatchObject({
      session_auth_migrated: true,
      invalid_users: 0,
      orphaned_domains: 0,
      total_integrity_issues: 0,
    });
    expect(r.table_count).toBeGreaterThanOrEqual(30);
    expect(r.facts.migration).toEqual({ present: true, version: 17, dirty: false, expected_version: 17 });
    expect(r.facts.extensions?.pgcrypto?.installed).toBeTruthy();
    expect(r.facts.privileges).toMatchObject({
      superuser: true,
      create_on_database: true,
      tables_not_owned: [],
    });
    expect(r.facts.dependents).toEqual([]);
    expect(r.facts.space!.domainflow_bytes).toBeGreaterThan(0);
    expect(r.facts.space!.shadow_copy_bytes_estimate).toBe(Math.ceil(r.facts.space!.domainflow_bytes * 1.5));
    expect(r.skipped_checks.filter((s) => s.reason.includes('migration'))).toEqual([]);
    expect(r.catalog_drift).toEqual({ checked: true, differences: [] });
  });

  it('says not ready on --dirty data, with the exact count per reason, samples and fixes', async () => {
    const r = await validateUnchanged(dirty);
    expect(r.ready_for_consolidation).toBe(false);
    const expected = new Map<string, number>();
    for (const [kind, n] of Object.entries(dirtySeed.dirty) as [DirtyKind, number][]) {
      const issue = KIND_TO_ISSUE[kind];
      if (issue) expected.set(issue, n);
    }
    expect(expected.size).toBe(7);
    const outside = await withClient(dirty, (c) =>
      c.query<{ n: string }>('SELECT count(*) AS n FROM campaigns WHERE NOT (status = ANY ($1::text[]))', [
        [...CAMPAIGN_STATUSES],
      ]),
    );
    if (Number(outside.rows[0]!.n) > 0)
      expected.set('campaigns.status.not_allowed', Number(outside.rows[0]!.n));
    const got = new Map(r.problems.map((p) => [p.issue ?? p.code, p.count]));
    expect(got).toEqual(expected);
    for (const p of r.problems) {
      expect(p.category).toBe('data');
      expect(p.fix.length).toBeGreaterThan(20);
      expect(p.samples!.length).toBe(Math.min(5, p.count!));
    }
    const d = dirtySeed.dirty;
    expect(r.invalid_users).toBe(
      d.campaigns_user_id_not_uuid! + d.campaigns_user_id_unknown_user! + d.audit_logs_user_id_not_uuid!,
    );
    expect(r.orphaned_domains).toBe(d.generated_domains_orphaned);
    expect(r.total_integrity_issues).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    // the samples are real keys of offending rows
    const notUuid = r.problems.find((p) => p.issue === 'campaigns.user_id.not_uuid')!;
    await withClient(dirty, async (c) => {
      const ids = notUuid.samples!.map((s) => s.id);
      const rows = await c.query('SELECT user_id FROM campaigns WHERE id = ANY($1::uuid[])', [ids]);
      expect(rows.rows).toHaveLength(ids.length);
      for (const row of rows.rows) expect(row.user_id).not.toMatch(/^[0-9a-f-]{36}$/i);
    });
  });

  it('consolidation.validate_current_schema() gives the same answer as dfc validate', async () => {
    const ts = await validateDatabase(dirty);
    const copy = await cloneOf(dirty);
    const fromSql = await withClient(copy, async (c) => {
      await ensureBookkeeping(c);
      // guide step 1, verbatim
      const r = await c.query('SELECT consolidation.validate_current_schema();');
      return r.rows[0].validate_current_schema as Record<string, unknown>;
    });
    const { catalog_drift: _d, target: _t, ...base } = ts;
    const { database: _a, ...tsFacts } = base.facts;
    const { database: _b, ...sqlFacts } = fromSql.facts as Record<string, unknown>;
    expect({ ...fromSql, facts: sqlFacts }).toEqual({ ...base, facts: tsFacts });
    expect(Object.keys(fromSql)).toEqual(
      expect.arrayContaining([
        'table_count',
        'session_auth_migrated',
        'invalid_users',
        'orphaned_domains',
        'total_integrity_issues',
        'ready_for_consolidation',
      ]),
    );
  });

  it('the CLI exits 0 when ready and 1 with the CONSOLIDATION_01 block (human and --json) when not', async () => {
    const ok = await cli(['validate', '--database-url', clean]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ready_for_consolidation: true');

    const bad = await cli(['validate', '--database-url', dirty]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('problem campaigns.user_id.not_uuid');
    expect(bad.stderr).toMatch(/^error CONSOLIDATION_01: schema validation failed/m);
    expect(bad.stderr).toMatch(/^ {2}fix: /m);
    expect(bad.stderr).toContain(`(${dirtySeed.dirty.campaigns_user_id_not_uuid} rows)`);
    // (a passwordless server URL, e.g. DFC_TEST_DATABASE_URL with trust auth, has nothing to leak)
    const password = new URL(dirty).password;
    if (password) expect(bad.stdout + bad.stderr).not.toContain(password);

    const json = await cli(['--json', 'validate', '--database-url', dirty]);
    expect(json.code).toBe(1);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ event: 'validate.report', ready_for_consolidation: false });
    expect(lines[0].invalid_users).toBeGreaterThan(0);
    expect(lines[1]).toMatchObject({ error: true, code: 'CONSOLIDATION_01' });
    expect(lines[1].fix).toMatch(/quarantine/);
    expect(lines[1].details.problems).toHaveLength(lines[0].problems.length);
    expect(lines[0].problems.length).toBeGreaterThanOrEqual(6);
  });
});

describe('dfc validate refuses, with reason and fix', () => {
  it('a dirty migration state', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, (c) => c.query('UPDATE schema_migrations SET dirty = true'));
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(codes(r)).toEqual(['migration_dirty']);
    expect(r.problems[0]!.reason).toContain('migration 17 failed part-way');
    expect(r.problems[0]!.fix).toContain('dfc migrate force 17');
    // conversion checks need a complete legacy catalog: skipped, and said so
    expect(r.skipped_checks.some((s) => s.reason.startsWith('migration state is not clean at 17'))).toBe(
      true,
    );
  });

  it('a database at 000012', async () => {
    const url = await freshDatabase('empty');
    await migrateUp(url, { dir: LEGACY_DIR, to: 12 });
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(codes(r)).toEqual(['migration_behind']);
    expect(r.problems[0]!.reason).toContain('at migration 000012');
    expect(r.problems[0]!.fix).toContain('dfc migrate up --legacy');
    expect(r.session_auth_migrated).toBe(false);
  });

  it('a missing extension', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, (c) => c.query('DROP EXTENSION pgcrypto CASCADE'));
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(codes(r)).toEqual(['extension_missing']);
    expect(r.problems[0]!.reason).toContain('pgcrypto');
    expect(r.problems[0]!.fix).toContain('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  });

  it('a database that is not DomainFlow at all', async () => {
    const url = await freshDatabase('none');
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(codes(r)).toEqual(['not_domainflow', 'extension_missing', 'extension_missing']);
    expect(r.problems[0]!.fix).toContain('dfc install');
    expect(r.table_count).toBe(0);
    expect(r.session_auth_migrated).toBe(false);
  });

  it('a database already on v2 (dfc install records 17, clean, so the version alone would pass)', async () => {
    const url = await freshDatabase('empty');
    await installV2(url);
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(codes(r)).toEqual(['already_consolidated']);
    expect(r.problems.find((p) => p.code === 'already_consolidated')!.fix).toContain('000018');
  });

  it('objects of other applications that depend on legacy tables: carried, or refused when a column they use changes type', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA reporting;
        CREATE VIEW reporting.campaign_names AS SELECT id, name FROM public.campaigns;
        CREATE VIEW reporting.campaign_owners AS SELECT id, user_id FROM public.campaigns;
        CREATE VIEW reporting.proxy_names AS SELECT id FROM public.proxies_decrypted;
        CREATE TABLE reporting.bookmarks (campaign_id uuid REFERENCES public.campaigns (id));
        CREATE FUNCTION reporting.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER reporting_touch BEFORE INSERT ON public.personas FOR EACH ROW EXECUTE FUNCTION reporting.touch();`),
    );
    const r = await validateUnchanged(url);
    expect(r.ready_for_consolidation).toBe(false);
    expect(r.facts.dependents).toEqual([
      {
        kind: 'foreign_key',
        object: 'reporting.bookmarks.bookmarks_campaign_id_fkey',
        depends_on: 'public.campaigns',
        carried: true,
      },
      {
        kind: 'trigger',
        object: 'public.personas.reporting_touch',
        depends_on: 'public.personas',
        carried: true,
      },
      { kind: 'view', object: 'reporting.campaign_names', depends_on: 'public.campaigns', carried: true },
      { kind: 'view', object: 'reporting.campaign_owners', depends_on: 'public.campaigns', carried: false },
      {
        kind: 'view',
        object: 'reporting.proxy_names',
        depends_on: 'public.proxies_decrypted',
        carried: false,
      },
    ]);
    // campaigns.user_id is text in legacy and uuid in v2: that view cannot be recreated as it is
    expect(codes(r)).toEqual(['foreign_dependent', 'foreign_dependent']);
    expect(r.problems[0]!.reason).toContain('public.campaigns.user_id is text in legacy, uuid in v2');
    expect(r.problems[0]!.fix).toContain('DROP VIEW reporting.campaign_owners');
    // a view over DomainFlow's own view is not re-pointed: refused, naming why
    expect(r.problems[1]!.reason).toContain("reads DomainFlow's view public.proxies_decrypted");
    expect(r.problems[1]!.fix).toContain('DROP VIEW reporting.proxy_names');
    const carried = r.warnings.filter((w) => w.code === 'foreign_dependent_carried');
    expect(carried).toHaveLength(3);
    expect(carried.every((w) => w.reason.includes('will be carried'))).toBe(true);
    // the foreign trigger is also catalog drift (a warning: the engine follows the live catalog)
    expect(r.catalog_drift.checked).toBe(true);
    expect(r.catalog_drift.differences!.join('\n')).toContain('reporting_touch');
    expect(r.warnings.map((w) => w.code)).toContain('catalog_drift');
  });

  it('a role that does not own the tables', async () => {
    const url = await freshDatabase('legacy');
    const role = `dfc_val_${randomBytes(4).toString('hex')}`;
    const db = decodeURIComponent(new URL(url).pathname.slice(1));
    await withClient(adminUrl(), (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`));
    try {
      await withClient(url, (c) => c.query(`GRANT CONNECT ON DATABASE "${db}" TO ${role}`));
      const u = new URL(url);
      u.username = role;
      u.password = `pw-${role}`;
      const r = await validateUnchanged(url, u.toString());
      expect(r.ready_for_consolidation).toBe(false);
      expect(r.facts.privileges).toMatchObject({ role, superuser: false, create_on_database: false });
      expect(codes(r)).toContain('privilege_create_database');
      expect(codes(r)).toContain('privilege_not_owner');
      const owner = r.problems.find((p) => p.code === 'privilege_not_owner')!;
      expect(owner.fix).toMatch(/GRANT that role to/);
      // what it may not read is reported as such, with a privilege fix, not as a crash
      const denied = r.problems.find((p) => p.check === 'migration_state')!;
      expect(denied.reason).toContain('permission denied');
      expect(denied.fix).toContain('run dfc validate as the role that owns');
    } finally {
      await withClient(url, (c) => c.query(`REVOKE ALL ON DATABASE "${db}" FROM ${role}`)).catch(() => {});
      await withClient(adminUrl(), (c) => c.query(`DROP ROLE ${role}`)).catch(() => {});
    }
  });
});
