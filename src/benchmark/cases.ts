/**
 * The suite `dfc benchmark run` measures: DomainFlow's hot reads and write batches, with parameters
 * drawn from the data itself (the biggest campaign, a typical one, the heaviest user). The service
 * sends the same statement text to legacy and to v2 (v2 accepts the legacy SQL unchanged, see
 * workload/statements.ts), so "the same logical query" is the same text on both; the layout only
 * labels the suite. Statements the simulator does not run (dashboard, permissions, HTTP queue) are
 * written here the way the Go service writes them: live joins on the base tables.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DOMAIN_BATCH, DOMAIN_BATCH_COLUMNS, S } from '../../workload/statements.js';

export type CaseKind = 'read' | 'write';
export interface BenchCase {
  name: string;
  category: string;
  text: string;
  params: unknown[];
  kind: CaseKind;
  /** which row the parameters point at, for the report */
  about: string;
}

export const EXTRA = {
  dashboard_stats_by_user: `SELECT c.id, c.name, c.status, c.progress_percentage, COUNT(gd.id) AS total_domains FROM campaigns c LEFT JOIN generated_domains gd ON gd.domain_generation_campaign_id = c.id WHERE c.user_id = $1 GROUP BY c.id, c.name, c.status, c.progress_percentage ORDER BY c.id`,
  http_work_queue: `SELECT d.id, d.domain_name FROM dns_validation_results d WHERE d.dns_campaign_id = $1 AND d.validation_status = 'resolved' AND NOT EXISTS (SELECT 1 FROM http_keyword_results h WHERE h.dns_result_id = d.id) ORDER BY d.created_at ASC LIMIT $2`,
  permission_lookup: `SELECT DISTINCT p.resource, p.action FROM auth.user_roles ur JOIN auth.role_permissions rp ON rp.role_id = ur.role_id JOIN auth.permissions p ON p.id = rp.permission_id WHERE ur.user_id = $1 AND (ur.expires_at IS NULL OR ur.expires_at > NOW())`,
} as const;

type Row = Record<string, string | null>;
async function one(c: pg.ClientBase, text: string, params: unknown[] = []): Promise<Row | undefined> {
  return (await c.query<Row>(text, params)).rows[0];
}

/** 'v2' when the consolidated schema serves the application, else 'legacy'. */
export async function detectLayout(c: pg.ClientBase): Promise<'legacy' | 'v2'> {
  const r = await one(c, `SELECT to_regclass('public.schema_version_info') IS NOT NULL AS v2`);
  return r?.v2 ? 'v2' : 'legacy';
}

/** Row counts of the tables the suite reads: suites of different sizes are not compared. */
export async function dataSize(c: pg.ClientBase): Promise<Record<string, number>> {
  const tables = [
    'campaigns',
    'generated_domains',
    'dns_validation_results',
    'http_keyword_results',
    'campaign_jobs',
    'audit_logs',
    'auth.sessions',
    'auth.users',
  ];
  const out: Record<string, number> = {};
  for (const t of tables) {
    // fixed names from the list above, not input
    const r = await one(c, `SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(r?.n ?? 0);
  }
  return out;
}

/** The cases for this database; a case whose parameters the data cannot supply is left out. */
export async function pickCases(c: pg.ClientBase, opts: { writes: boolean }): Promise<BenchCase[]> {
  const cases: BenchCase[] = [];
  const add = (
    name: string,
    category: string,
    text: string,
    params: unknown[],
    about: string,
    kind: CaseKind = 'read',
  ) => cases.push({ name, category, text, params, kind, about });

  const heavy = await one(
    c,
    'SELECT user_id, count(*) AS n FROM campaigns WHERE user_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const us = await one(
    c,
    'SELECT user_id, status, count(*) AS n FROM campaigns WHERE user_id IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1',
  );
  const sizes = await c.query<Row>(
    `SELECT domain_generation_campaign_id AS id, count(*) AS n, max(offset_index) AS max_offset, min(tld) AS tld
       FROM generated_domains GROUP BY 1 ORDER BY 2 DESC, 1`,
  );
  const big = sizes.rows[0];
  const typical = sizes.rows[Math.floor(sizes.rows.length / 2)];
  const dns = await one(
    c,
    'SELECT dns_campaign_id AS id, count(*) AS n FROM dns_validation_results GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const http = await one(
    c,
    'SELECT http_keyword_campaign_id AS id, count(*) AS n FROM http_keyword_results GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const session = await one(
    c,
    `SELECT s.id FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
      ORDER BY (s.is_active AND s.expires_at > now() AND u.is_active) DESC, s.expires_at DESC, s.id LIMIT 1`,
  );
  const roleUser = await one(
    c,
    'SELECT user_id, count(*) AS n FROM auth.user_roles GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const audit = await one(
    c,
    `SELECT entity_type, entity_id AS id, count(*) AS n FROM audit_logs WHERE entity_id IS NOT NULL
      GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1`,
  );
  const queue = await one(
    c,
    `SELECT status, count(*) AS n FROM campaign_jobs WHERE status IN ('pending', 'queued') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
  );
  const jobs = await one(
    c,
    'SELECT campaign_id AS id, count(*) AS n FROM campaign_jobs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );

  if (heavy)
    add(
      'dashboard_stats_by_user',
      'dashboard',
      EXTRA.dashboard_stats_by_user,
      [heavy.user_id],
      `heaviest user (${heavy.n} campaigns)`,
    );
  if (us)
    add(
      'campaign_list_by_user_status',
      'campaigns',
      S.campaign_list_by_user_status,
      [us.user_id, us.status, 20],
      `user+status with most campaigns (${us.n})`,
    );
  if (big) {
    add('campaign_detail', 'campaigns', S.campaign_detail, [big.id], 'biggest campaign');
    add(
      'domains_page[biggest]',
      'domains',
      S.domains_page,
      [big.id, 50, 100],
      `biggest campaign (${big.n} domains), OFFSET 100`,
    );
    add(
      'domains_count[biggest]',
      'domains',
      S.domains_count,
      [big.id],
      `biggest campaign (${big.n} domains)`,
    );
    add(
      'dns_work_queue[biggest]',
      'validation',
      S.dns_work_queue,
      [big.id, 100],
      'domains of the biggest campaign pending DNS',
    );
  }
  if (typical && typical !== big)
    add(
      'domains_page[typical]',
      'domains',
      S.domains_page,
      [typical.id, 50, 0],
      `typical campaign (${typical.n} domains)`,
    );
  if (dns) {
    add(
      'dns_results_page',
      'validation',
      S.dns_results_page,
      [dns.id, 50, 0],
      `DNS campaign with most results (${dns.n})`,
    );
    add(
      'http_work_queue',
      'validation',
      EXTRA.http_work_queue,
      [dns.id, 100],
      'resolved domains of that campaign pending HTTP',
    );
  }
  if (http)
    add(
      'http_results_page',
      'validation',
      S.http_results_page,
      [http.id, 50],
      `HTTP campaign with most results (${http.n})`,
    );
  if (session) add('session_validate', 'auth', S.session_validate, [session.id], 'the newest session');
  if (roleUser)
    add(
      'permission_lookup',
      'auth',
      EXTRA.permission_lookup,
      [roleUser.user_id],
      `user with most roles (${roleUser.n})`,
    );
  if (audit)
    add(
      'audit_by_entity',
      'audit',
      S.audit_by_entity,
      [audit.entity_type, audit.id, 20],
      `entity with most audit rows (${audit.n})`,
    );
  if (queue) add('job_queue', 'jobs', S.job_queue, [queue.status, 20], `'${queue.status}' jobs (${queue.n})`);
  if (jobs)
    add('jobs_by_campaign', 'jobs', S.jobs_by_campaign, [jobs.id, 20], `campaign with most jobs (${jobs.n})`);

  if (opts.writes && big) {
    const batch: unknown[] = [];
    const base = Number(big.max_offset) + 1;
    for (let i = 0; i < DOMAIN_BATCH; i++) {
      const row: Record<(typeof DOMAIN_BATCH_COLUMNS)[number], unknown> = {
        id: randomUUID(),
        domain_generation_campaign_id: big.id,
        domain_name: `dfcbench${base + i}${big.tld}`,
        source_keyword: 'dfcbench',
        source_pattern: 'prefix',
        tld: big.tld,
        offset_index: base + i,
        generated_at: '2025-06-01T00:00:00Z',
      };
      batch.push(...DOMAIN_BATCH_COLUMNS.map((k) => row[k]));
    }
    add(
      'domains_insert_batch',
      'writes',
      S.domains_insert_batch,
      batch,
      `${DOMAIN_BATCH} domains appended to the biggest campaign`,
      'write',
    );
    add(
      'campaign_update_progress',
      'writes',
      S.campaign_update_progress,
      [big.id, 1, 1, 0, Number(big.n), 1],
      'biggest campaign',
      'write',
    );
    if (heavy)
      add(
        'audit_insert',
        'writes',
        S.audit_insert,
        [randomUUID(), heavy.user_id, 'benchmark', 'Campaign', big.id, '{}', '192.0.2.1', 'dfc-benchmark'],
        'one audit row',
        'write',
      );
  }
  if (opts.writes && session)
    add('session_touch', 'writes', S.session_touch, [session.id], 'the newest session', 'write');
  return cases;
}
