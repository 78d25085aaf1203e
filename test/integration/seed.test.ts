import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { countForeignKeyOrphans, type SeedReport, seedDatabase } from '../../workload/seed.js';
import { freshDatabase } from '../helpers/db.js';

const N = 2000;

/** Row count of every table in public and auth (except golang-migrate's bookkeeping). */
async function tableCounts(c: pg.Client): Promise<Record<string, number>> {
  const t = await c.query<{ s: string; n: string }>(
    `SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname IN ('public', 'auth') AND c.relname <> 'schema_migrations' ORDER BY 1, 2`,
  );
  const out: Record<string, number> = {};
  for (const { s, n } of t.rows) {
    const r = await c.query<{ k: string }>(`SELECT count(*) AS k FROM "${s}"."${n}"`);
    out[`${s}.${n}`] = Number(r.rows[0]!.k);
  }
  return out;
}

/** md5 of every table's rows, sorted (a row's text starts with its key, so this orders by content). */
async function checksums(c: pg.Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(await tableCounts(c))) {
    const [s, n] = name.split('.');
    const r = await c.query<{ h: string | null }>(
      `SELECT md5(string_agg(x, E'\\n' ORDER BY x)) AS h FROM (SELECT t::text AS x FROM "${s}"."${n}" t) q`,
    );
    out[name] = r.rows[0]!.h ?? 'empty';
  }
  return out;
}

/** The schema objects the loader drops and recreates: constraints and indexes with their definitions. */
async function catalogShape(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ x: string }>(
    `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' valid=' || convalidated AS x
       FROM pg_constraint WHERE connamespace IN ('public'::regnamespace, 'auth'::regnamespace)
     UNION ALL
     SELECT schemaname || '.' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname IN ('public', 'auth')
     ORDER BY 1`,
  );
  return r.rows.map((x) => x.x);
}

const count = async (c: pg.Client, q: string) => Number((await c.query<{ n: string }>(q)).rows[0]!.n);

describe('dfc seed on a legacy v17 database', () => {
  let url: string;
  let report: SeedReport;
  let before: Record<string, number>;
  let shapeBefore: string[];

  beforeAll(async () => {
    url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      before = await tableCounts(c);
      shapeBefore = await catalogShape(c);
    });
    report = await seedDatabase(url, { domains: N, seed: 1 });
  });

  it('writes exactly N generated domains and the other tables in proportion', async () => {
    await withClient(url, async (c) => {
      const after = await tableCounts(c);
      expect(after['public.generated_domains']).toBe(N);
      const dns = after['public.dns_validation_results']!;
      const http = after['public.http_keyword_results']!;
      expect(dns / N).toBeGreaterThan(0.27);
      expect(dns / N).toBeLessThan(0.33);
      expect(http / N).toBeGreaterThan(0.08);
      expect(http / N).toBeLessThan(0.12);
      expect(after['public.campaign_jobs']).toBe(N * 0.05);
      expect(after['public.audit_logs']).toBe(N * 0.5);
      // every table holds data, and the report's counts are what the tables gained
      for (const [table, n] of Object.entries(after)) {
        expect(n, table).toBeGreaterThan(0);
        expect(n - before[table]!, table).toBe(report.counts[table] ?? 0);
      }
    });
  });

  it('covers every campaign type in every status, owned by real users', async () => {
    await withClient(url, async (c) => {
      const r = await c.query<{ campaign_type: string; status: string }>(
        'SELECT DISTINCT campaign_type, status FROM campaigns',
      );
      expect(r.rowCount).toBe(3 * 8);
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM campaigns c WHERE NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id::text = c.user_id)',
        ),
      ).toBe(0);
      // each campaign has its params row
      expect(
        await count(
          c,
          `SELECT count(*) AS n FROM campaigns c WHERE NOT EXISTS (
             SELECT 1 FROM domain_generation_campaign_params p WHERE p.campaign_id = c.id
             UNION ALL SELECT 1 FROM dns_validation_campaign_params p WHERE p.campaign_id = c.id
             UNION ALL SELECT 1 FROM http_keyword_campaign_params p WHERE p.campaign_id = c.id)`,
        ),
      ).toBe(0);
    });
  });

  it('keeps the data consistent across tables', async () => {
    await withClient(url, async (c) => {
      // offsets strictly increase with generation order and never repeat within a campaign
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM (SELECT 1 FROM generated_domains GROUP BY domain_generation_campaign_id, offset_index HAVING count(*) > 1) d',
        ),
      ).toBe(0);
      expect(
        await count(
          c,
          `SELECT count(*) AS n FROM (SELECT offset_index, lag(offset_index) OVER w AS prev, generated_at, lag(generated_at) OVER w AS prev_at
             FROM generated_domains WINDOW w AS (PARTITION BY domain_generation_campaign_id ORDER BY generated_at, offset_index)) s
            WHERE prev IS NOT NULL AND offset_index <= prev`,
        ),
      ).toBe(0);
      // a DNS result names the domain it points at; an HTTP result the DNS result's domain
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM dns_validation_results r JOIN generated_domains d ON d.id = r.generated_domain_id WHERE d.domain_name <> r.domain_name',
        ),
      ).toBe(0);
      expect(
        await count(c, 'SELECT count(*) AS n FROM dns_validation_results WHERE generated_domain_id IS NULL'),
      ).toBe(0);
      // … and was checked after that domain was generated, by a campaign created after its source
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM dns_validation_results r JOIN generated_domains d ON d.id = r.generated_domain_id WHERE r.last_checked_at <= d.generated_at',
        ),
      ).toBe(0);
      expect(
        await count(
          c,
          `SELECT count(*) AS n FROM campaigns c
             JOIN (SELECT campaign_id, source_generation_campaign_id AS src FROM dns_validation_campaign_params
                   UNION ALL SELECT campaign_id, source_campaign_id FROM http_keyword_campaign_params) p ON p.campaign_id = c.id
             JOIN campaigns s ON s.id = p.src
            WHERE c.created_at <= s.created_at`,
        ),
      ).toBe(0);
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM http_keyword_results h JOIN dns_validation_results r ON r.id = h.dns_result_id WHERE r.domain_name <> h.domain_name',
        ),
      ).toBe(0);
      // the session trigger computed fingerprints; some sessions are live, some expired
      expect(
        await count(c, 'SELECT count(*) AS n FROM auth.sessions WHERE session_fingerprint IS NULL'),
      ).toBe(0);
      const live = await count(
        c,
        `SELECT count(*) AS n FROM auth.sessions WHERE is_active AND expires_at > '2025-06-01'::timestamp`,
      );
      const expired = await count(
        c,
        `SELECT count(*) AS n FROM auth.sessions WHERE expires_at < '2025-06-01'::timestamp`,
      );
      expect(live).toBeGreaterThan(0);
      expect(expired).toBeGreaterThan(0);
      // every seeded user has a role; the bigserial sequences continue after the explicit ids
      expect(
        await count(
          c,
          'SELECT count(*) AS n FROM auth.users u WHERE NOT EXISTS (SELECT 1 FROM auth.user_roles r WHERE r.user_id = u.id)',
        ),
      ).toBe(0);
      const next = await c.query<{ id: string }>(
        `INSERT INTO auth.rate_limits (identifier, action) VALUES ('203.0.113.9', 'login') RETURNING id`,
      );
      expect(Number(next.rows[0]!.id)).toBe(await count(c, 'SELECT max(id) AS n FROM auth.rate_limits'));
      // a regex keyword rule with backslashes survived COPY escaping
      expect(
        await count(
          c,
          `SELECT count(*) AS n FROM keyword_rules WHERE rule_type = 'regex' AND pattern LIKE '\\\\b%'`,
        ),
      ).toBeGreaterThan(0);
    });
  });

  it('holds every foreign key of the catalog, and restores every constraint and index it dropped', async () => {
    await withClient(url, async (c) => {
      const fks = await countForeignKeyOrphans(c);
      const catalogFks = await count(
        c,
        `SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND connamespace IN ('public'::regnamespace, 'auth'::regnamespace)`,
      );
      expect(fks.length).toBe(catalogFks);
      expect(fks.length).toBeGreaterThan(25);
      expect(fks.filter((f) => f.orphans > 0)).toEqual([]);
      expect(report.foreignKeys.filter((f) => f.orphans > 0)).toEqual([]);
      expect(await catalogShape(c)).toEqual(shapeBefore);
    });
  });
});

describe('determinism', () => {
  it('gives byte-identical tables for the same seed and different ones for another seed', async () => {
    const [a, b, other] = await Promise.all([
      freshDatabase('legacy'),
      freshDatabase('legacy'),
      freshDatabase('legacy'),
    ]);
    await seedDatabase(a, { domains: N, seed: 7, dirty: true });
    await seedDatabase(b, { domains: N, seed: 7, dirty: true });
    await seedDatabase(other, { domains: N, seed: 8, dirty: true });
    const [ha, hb, ho] = await Promise.all([a, b, other].map((u) => withClient(u, checksums)));
    expect(Object.keys(ha!).length).toBeGreaterThan(25);
    expect(hb).toEqual(ha);
    for (const t of [
      'public.generated_domains',
      'public.campaigns',
      'auth.users',
      'public.audit_logs',
      'auth.sessions',
    ])
      expect(ho![t], t).not.toBe(ha![t]);
  });
});

/** Independent measurements of each dirty kind (not the seed's own probes). */
const MEASURE: Record<string, string> = {
  campaigns_user_id_not_uuid: `SELECT count(*) AS n FROM campaigns WHERE user_id !~* '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'`,
  campaigns_user_id_unknown_user: `SELECT count(*) AS n FROM campaigns c WHERE c.user_id ~* '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'
      AND c.user_id NOT IN (SELECT id::text FROM auth.users)`,
  campaigns_status_outside_v2: `SELECT count(*) AS n FROM campaigns
      WHERE status <> ALL (ARRAY['pending','queued','running','paused','completed','failed','archived','cancelled'])`,
  http_params_source_type_invalid: `SELECT count(*) AS n FROM http_keyword_campaign_params
      WHERE source_type <> ALL (ARRAY['DomainGeneration','DNSValidation'])`,
  audit_logs_user_id_not_uuid: `SELECT count(*) AS n FROM audit_logs WHERE user_id !~* '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'`,
  audit_logs_client_ip_not_ip: `SELECT count(*) AS n FROM audit_logs WHERE client_ip !~ '^[0-9.]+$' AND client_ip !~* '^[0-9a-f:]+$'`,
  generated_domains_orphaned: `SELECT count(*) AS n FROM generated_domains d LEFT JOIN campaigns c ON c.id = d.domain_generation_campaign_id
      WHERE c.id IS NULL`,
  generated_domains_duplicate_offset: `SELECT count(*) - count(DISTINCT (domain_generation_campaign_id, offset_index)) AS n FROM generated_domains`,
};

describe('--dirty', () => {
  it('adds exactly the reported rows of each kind, and none exist on clean data', async () => {
    const clean = await freshDatabase('legacy');
    await seedDatabase(clean, { domains: N, seed: 3 });
    const url = await freshDatabase('legacy');
    const report = await seedDatabase(url, { domains: N, seed: 3, dirty: true });
    expect(Object.keys(report.dirty).sort()).toEqual(Object.keys(MEASURE).sort());
    await withClient(clean, async (c) => {
      for (const [kind, q] of Object.entries(MEASURE)) expect(await count(c, q), kind).toBe(0);
    });
    await withClient(url, async (c) => {
      for (const [kind, q] of Object.entries(MEASURE)) {
        const n = report.dirty[kind as keyof typeof report.dirty]!;
        expect(n, kind).toBeGreaterThan(0);
        expect(await count(c, q), kind).toBe(n);
      }
      expect(await count(c, 'SELECT count(*) AS n FROM generated_domains')).toBe(
        N + report.dirty.generated_domains_orphaned! + report.dirty.generated_domains_duplicate_offset!,
      );
      // the FK check sees the orphans, on exactly one FK
      const broken = (await countForeignKeyOrphans(c)).filter((f) => f.orphans > 0);
      expect(broken).toEqual([
        expect.objectContaining({
          table: 'public.generated_domains',
          references: 'public.campaigns',
          orphans: report.dirty.generated_domains_orphaned,
        }),
      ]);
    });
  });
});

describe('refusals', () => {
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(DfcError);
      expect((e as DfcError).fix.length).toBeGreaterThan(10);
      return (e as DfcError).code;
    }
    return 'no error';
  };

  it('refuses a database that is not a clean legacy v17, or already has data', async () => {
    expect(await code(seedDatabase(await freshDatabase('empty'), { domains: 10 }))).toBe('DFC_MIGRATION');
    const dirty = await freshDatabase('legacy');
    await withClient(dirty, (c) => c.query('UPDATE schema_migrations SET dirty = true'));
    expect(await code(seedDatabase(dirty, { domains: 10 }))).toBe('DFC_DIRTY');
    const old = await freshDatabase('legacy');
    await withClient(old, (c) => c.query('UPDATE schema_migrations SET version = 16'));
    expect(await code(seedDatabase(old, { domains: 10 }))).toBe('DFC_MIGRATION');
    const seeded = await freshDatabase('seeded');
    expect(await code(seedDatabase(seeded, { domains: 10 }))).toBe('DFC_CONFIG');
    expect(await code(seedDatabase(seeded, { domains: -1 }))).toBe('DFC_CONFIG');
  });

  it('leaves nothing behind when a load fails half-way, not even a dropped index', async () => {
    const url = await freshDatabase('legacy');
    // A CHECK the generated data breaks: the COPY into generated_domains fails after earlier tables loaded.
    await withClient(url, (c) =>
      c.query('ALTER TABLE generated_domains ADD CONSTRAINT test_small_offsets CHECK (offset_index < 5)'),
    );
    const shape = await withClient(url, catalogShape);
    const counts = await withClient(url, tableCounts);
    await expect(seedDatabase(url, { domains: N, seed: 1 })).rejects.toThrow(/test_small_offsets/);
    expect(await withClient(url, catalogShape)).toEqual(shape);
    expect(await withClient(url, tableCounts)).toEqual(counts);
  });
});
