/**
 * `dfc advise`: what no index or schema change can fix, only a change in the application's SQL —
 * each with the statement as the service sends it, the rewrite, both timed on this database
 * (median of `runs`), and, where pg_stat_statements is loaded, how often the service runs it.
 * Deliberately short: three rewrites whose semantics are known to be equal (or, for the
 * materialized view, equal up to its refresh interval, which is said).
 */
import type pg from 'pg';
import { S } from '../../workload/statements.js';
import { withClient } from '../db/connection.js';
import { detectLayout, EXTRA } from './cases.js';
import { quantile } from './run.js';

export interface Advice {
  id: 'keyset_pagination' | 'order_by_index' | 'campaign_statistics';
  problem: string;
  statement: string;
  /** the parameters both were timed with, so the DBA can rerun them */
  params: unknown[];
  rewrite: string;
  rewriteParams: unknown[];
  originalMs: number;
  rewriteMs: number;
  /** original ÷ rewrite */
  speedup: number;
  /** the rewrite measured at least 1.2× faster here; otherwise listed with its figures, not advised */
  advised: boolean;
  caveat?: string;
  /** pg_stat_statements calls and mean of statements of this shape, when available */
  observed?: { calls: number; meanMs: number } | null;
}

async function medianMs(c: pg.ClientBase, text: string, params: unknown[], runs: number): Promise<number> {
  await c.query(text, params);
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await c.query(text, params);
    t.push(performance.now() - t0);
  }
  return quantile(
    t.sort((a, b) => a - b),
    0.5,
  );
}

async function observed(c: pg.ClientBase, like: string): Promise<Advice['observed']> {
  try {
    const cols = await c.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = 'pg_stat_statements'::regclass AND attname = 'mean_exec_time'`,
    );
    const mean = cols.rowCount ? 'mean_exec_time' : 'mean_time';
    const r = await c.query<{ calls: string; mean: string }>(
      `SELECT sum(calls) AS calls, sum(calls * ${mean}) / nullif(sum(calls), 0) AS mean FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query ILIKE $1`,
      [like],
    );
    const row = r.rows[0];
    return row?.calls ? { calls: Number(row.calls), meanMs: Number(row.mean) } : null;
  } catch {
    return null; // pg_stat_statements not installed: the timings stand on their own
  }
}

interface Rewrite {
  id: Advice['id'];
  problem: string;
  statement: string;
  params: unknown[];
  rewrite: string;
  rewriteParams: unknown[];
  caveat: string;
  /** ILIKE pattern of the statement's shape in pg_stat_statements */
  shape: string;
}

/** Both statements timed on the same connection, one after the other: the advice with its figures. */
async function measured(c: pg.ClientBase, r: Rewrite, runs: number): Promise<Advice> {
  const originalMs = await medianMs(c, r.statement, r.params, runs);
  const rewriteMs = await medianMs(c, r.rewrite, r.rewriteParams, runs);
  const speedup = originalMs / rewriteMs;
  return {
    id: r.id,
    problem: r.problem,
    statement: r.statement,
    params: r.params,
    rewrite: r.rewrite,
    rewriteParams: r.rewriteParams,
    originalMs,
    rewriteMs,
    speedup,
    advised: speedup >= 1.2,
    caveat: r.caveat,
    observed: await observed(c, r.shape),
  };
}

export async function advise(url: string, opts: { runs?: number } = {}): Promise<Advice[]> {
  const runs = opts.runs ?? 15;
  return withClient(
    url,
    async (c) => {
      const out: Advice[] = [];
      const big = (
        await c.query<{ id: string; n: string }>(
          'SELECT domain_generation_campaign_id AS id, count(*) AS n FROM generated_domains GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
        )
      ).rows[0];
      if (big && Number(big.n) > 200) {
        // the page a user reaches by paging halfway through the biggest campaign
        const offset = Math.floor(Number(big.n) / 2);
        const after = await c.query<{ o: string }>(
          'SELECT offset_index AS o FROM generated_domains WHERE domain_generation_campaign_id = $1 ORDER BY offset_index OFFSET $2 LIMIT 1',
          [big.id, offset - 1],
        );
        const keyset = `SELECT id, domain_name, source_keyword, source_pattern, tld, offset_index, generated_at FROM generated_domains WHERE domain_generation_campaign_id = $1 AND offset_index > $2 ORDER BY offset_index ASC LIMIT $3`;
        out.push(
          await measured(
            c,
            {
              id: 'keyset_pagination',
              problem: `domains_page reads and discards OFFSET rows: page at OFFSET ${offset} of the biggest campaign (${big.n} domains)`,
              statement: S.domains_page,
              params: [big.id, 50, offset],
              rewrite: keyset,
              rewriteParams: [big.id, after.rows[0]!.o, 50],
              caveat: 'the client passes the last offset_index of the previous page instead of a page number',
              shape: '%FROM generated_domains%OFFSET%',
            },
            runs,
          ),
        );
      }
      const q = (
        await c.query<{ status: string }>(
          `SELECT status FROM campaign_jobs WHERE status IN ('pending', 'queued') GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
        )
      ).rows[0];
      if (q) {
        // COALESCE(scheduled_at, epoch) ASC orders NULLs first, like NULLS FIRST, for any date after 1970
        const rewrite = S.job_queue.replace(
          "ORDER BY COALESCE(scheduled_at, '1970-01-01'::timestamp) ASC",
          'ORDER BY scheduled_at ASC NULLS FIRST',
        );
        out.push(
          await measured(
            c,
            {
              id: 'order_by_index',
              problem:
                'job_queue orders by an expression (COALESCE(scheduled_at, …)) that no index on scheduled_at can serve: every matching job is read and sorted',
              statement: S.job_queue,
              params: [q.status, 20],
              rewrite,
              rewriteParams: [q.status, 20],
              caveat: 'same order when no job is scheduled before 1970',
              shape: '%FROM campaign_jobs%COALESCE(scheduled_at%',
            },
            runs,
          ),
        );
      }
      const user = (
        await c.query<{ user_id: string }>(
          'SELECT user_id FROM campaigns WHERE user_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1',
        )
      ).rows[0];
      if (user && (await detectLayout(c)) === 'v2') {
        const mv = await c.query(
          `SELECT ispopulated FROM pg_matviews WHERE schemaname = 'public' AND matviewname = 'campaign_statistics'`,
        );
        if (mv.rows[0]?.ispopulated) {
          const plain = `SELECT id, status, progress_percentage, total_domains FROM campaign_statistics WHERE user_id = $1 ORDER BY id`;
          out.push(
            await measured(
              c,
              {
                id: 'campaign_statistics',
                problem: "the dashboard counts each campaign's generated domains with a live join",
                statement: EXTRA.dashboard_stats_by_user,
                params: [user.user_id],
                rewrite: plain,
                rewriteParams: [user.user_id],
                caveat:
                  'campaign_statistics is as fresh as its last refresh (refresh_campaign_statistics(); the guide suggests every 5-10 min); campaign names stay in campaigns',
                shape: '%FROM campaigns c LEFT JOIN generated_domains%',
              },
              runs,
            ),
          );
        }
      }
      return out;
    },
    'dfc-advise',
  );
}
