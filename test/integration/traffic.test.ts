/**
 * The traffic simulator and its ledger on a real legacy DomainFlow database: a clean run verifies
 * with 0 mismatches, rows changed behind its back are caught exactly, and traffic rides through a
 * table that is renamed away and back.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { verifyLedger } from '../../workload/ledger.js';
import { foldLedger, readLedger } from '../../workload/ledger-format.js';
import { seedDatabase } from '../../workload/seed.js';
import { APP_STATEMENTS } from '../../workload/statements.js';
import { runTraffic, startTraffic, type TrafficReport } from '../../workload/traffic.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The legacy catalog (shipped history) seeded with realistic data, including the dirty kinds. */
async function legacyWithData(): Promise<string> {
  const url = await freshDatabase('legacy', 'trf');
  await seedDatabase(url, { domains: 3000, seed: 4, dirty: true });
  return url;
}

const WRITE_OPS = [
  'campaign_create',
  'domains_insert',
  'campaign_progress',
  'campaign_status',
  'campaign_clear_error',
  'campaign_delete',
  'domain_update',
  'domain_clear_keyword',
  'dns_insert',
  'dns_update',
  'dns_clear_records',
  'dns_delete',
  'http_insert',
  'job_insert',
  'job_attempt',
  'job_delete',
  'session_touch',
  'audit_insert',
  'keyword_set_create',
  'keyword_set_update',
  'keyword_rule_update',
  'keyword_set_delete',
  'proxy_health',
];

describe('traffic + ledger on a legacy database', () => {
  let url: string;
  let dir: string;
  let ledgerPath: string;
  let report: TrafficReport;

  beforeAll(async () => {
    url = await legacyWithData();
    dir = await mkdtemp(path.join(tmpdir(), 'dfc-traffic-'));
    ledgerPath = path.join(dir, 'ledger.jsonl');
  });

  it('every application statement prepares on the legacy catalog', async () => {
    await withClient(url, async (c) => {
      for (const s of APP_STATEMENTS) {
        await c.query(`PREPARE p AS ${s.text}`).catch((e) => {
          throw new Error(`${s.name}: ${(e as Error).message}`);
        });
        await c.query('DEALLOCATE p');
      }
    });
  });

  it('100 ops/s for 5 s: every write kind commits, 0 failed writes, ledger verifies with 0 mismatches', async () => {
    const progress: number[] = [];
    report = await runTraffic(url, {
      rate: 100,
      durationMs: 5000,
      ledgerPath,
      seed: 7,
      concurrency: 4,
      onProgress: (p) => progress.push(p.ops),
    });
    expect(report.failedWrites).toBe(0);
    expect(report.failedReads).toBe(0);
    expect(report.ops).toBeGreaterThan(300);
    expect(report.reads).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(2);
    for (const name of WRITE_OPS) expect(report.opCounts[name]?.ok ?? 0, name).toBeGreaterThan(0);
    const s = report.ledgerSummary;
    const tables = (k: 'insert' | 'update' | 'update_null' | 'delete') =>
      Object.keys(s).filter((t) => (s[t]?.[k] ?? 0) > 0);
    expect(tables('insert').length).toBeGreaterThanOrEqual(8);
    expect(tables('update').length).toBeGreaterThanOrEqual(9);
    expect(tables('update_null')).toEqual(
      expect.arrayContaining([
        'public.campaigns',
        'public.generated_domains',
        'public.dns_validation_results',
      ]),
    );
    expect(tables('delete')).toEqual(
      expect.arrayContaining([
        'public.campaigns',
        'public.dns_validation_results',
        'public.campaign_jobs',
        'public.keyword_sets',
      ]),
    );
    expect(report.latency.writes.count).toBe(report.writes);
    expect(report.latency.writes.p99).toBeGreaterThan(0);
    // the per-op slowest write of a phase (bench/stall.ts tells a lock stall from a slow op with it)
    for (const phase of Object.values(report.perPhase)) {
      const byOp = Object.entries(phase.writeMaxByOp);
      expect(byOp.length).toBeGreaterThan(0);
      for (const [op] of byOp) expect(WRITE_OPS).toContain(op);
      expect(Math.max(...byOp.map(([, ms]) => ms))).toBe(phase.writes.max);
    }

    const v = await verifyLedger(url, ledgerPath);
    expect(v.mismatches).toEqual([]);
    expect(v.ledgerEntries).toBe(report.ledgerEntries);
    expect(v.present).toBeGreaterThan(100);
    expect(v.absent).toBeGreaterThan(0);
    expect(v.valuesChecked).toBeGreaterThan(v.present);
  });

  it('catches exactly the three rows changed behind its back', async () => {
    const { rows } = foldLedger(await readLedger(ledgerPath));
    const audit = rows.filter((r) => r.table === 'public.audit_logs' && r.present);
    const deletedJob = rows.find((r) => r.table === 'public.campaign_jobs' && r.present === false);
    expect(audit.length).toBeGreaterThan(1);
    expect(deletedJob).toBeDefined();
    const [changed, removed] = [audit[0]!, audit[1]!];
    await withClient(url, async (c) => {
      await c.query(`UPDATE audit_logs SET action = 'tampered' WHERE id = $1`, [changed.key.id]);
      await c.query('DELETE FROM audit_logs WHERE id = $1', [removed.key.id]);
      await c.query(
        `INSERT INTO campaign_jobs (id, campaign_id, job_type) SELECT $1, id, 'resurrected' FROM campaigns LIMIT 1`,
        [deletedJob!.key.id],
      );
    });
    const v = await verifyLedger(url, ledgerPath);
    const got = v.mismatches.map((m) => ({ table: m.table, id: m.key.id, kind: m.kind, column: m.column }));
    expect(got).toHaveLength(3);
    expect(got).toEqual(
      expect.arrayContaining([
        { table: 'public.audit_logs', id: changed.key.id, kind: 'value', column: 'action' },
        { table: 'public.audit_logs', id: removed.key.id, kind: 'missing', column: undefined },
        { table: 'public.campaign_jobs', id: deletedJob!.key.id, kind: 'unexpected', column: undefined },
      ]),
    );
    const value = v.mismatches.find((m) => m.kind === 'value')!;
    expect(value.actual).toBe('tampered');
    expect(value.expected).toBe(changed.values.action);
  });

  it('rides through campaigns renamed away and back: retries counted, 0 failed writes, ledger verifies', async () => {
    const fresh = await legacyWithData();
    const ledger2 = path.join(dir, 'ledger-rename.jsonl');
    const traffic = startTraffic(fresh, {
      rate: 100,
      durationMs: 3000,
      ledgerPath: ledger2,
      seed: 9,
      concurrency: 4,
    });
    await sleep(1000);
    traffic.markPhase('renamed');
    await withClient(fresh, async (c) => {
      await c.query('ALTER TABLE campaigns RENAME TO campaigns_away');
      await sleep(600);
      await c.query('ALTER TABLE campaigns_away RENAME TO campaigns');
    });
    traffic.markPhase('after');
    const r = await traffic.done;
    expect(r.retries['42P01'] ?? 0).toBeGreaterThan(0);
    expect(r.failedWrites).toBe(0);
    expect(r.failedReads).toBe(0);
    expect(Object.keys(r.perPhase)).toEqual(['before', 'renamed', 'after']);
    expect(r.perPhase.renamed!.ops).toBeGreaterThan(0);
    const v = await verifyLedger(fresh, ledger2);
    expect(v.mismatches).toEqual([]);
    expect(v.checked).toBeGreaterThan(0);
  });
  it('reconnects when its connections are terminated: retries counted, 0 failed writes, ledger verifies', async () => {
    const fresh = await legacyWithData();
    const ledger3 = path.join(dir, 'ledger-terminate.jsonl');
    const traffic = startTraffic(fresh, {
      rate: 100,
      durationMs: 3000,
      ledgerPath: ledger3,
      seed: 5,
      concurrency: 4,
    });
    let killed = 0;
    for (let round = 0; round < 2; round++) {
      await sleep(800);
      killed += await withClient(fresh, async (c) => {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'domainflow-sim' AND datname = current_database()) t`,
        );
        return r.rows[0].n as number;
      });
    }
    const r = await traffic.done;
    expect(killed).toBeGreaterThanOrEqual(4);
    expect((r.retries['57P01'] ?? 0) + (r.retries.CONNECTION ?? 0)).toBeGreaterThan(0);
    expect(r.failedWrites).toBe(0);
    expect(r.failedReads).toBe(0);
    expect(r.perPhase.before!.ops).toBeGreaterThan(200);
    const v = await verifyLedger(fresh, ledger3);
    expect(v.mismatches).toEqual([]);
    // one uncertain write (e.g. a batch of domains) can leave several uncertain ledger entries
    const uncertainEntries = (await readLedger(ledger3)).filter((x) => x.uncertain).length;
    expect(uncertainEntries).toBeGreaterThanOrEqual(r.uncertainWrites);
    expect(v.uncertainSkipped).toBe(uncertainEntries);
  });
  it('a connection lost during COMMIT is ledgered as uncertain, and verify skips exactly those', async () => {
    const fresh = await legacyWithData();
    // a deferred trigger makes COMMIT of any audit row take 300 ms, long enough to kill it there
    await withClient(fresh, (c) =>
      c.query(`CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
               CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON audit_logs
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();`),
    );
    const ledger4 = path.join(dir, 'ledger-uncertain.jsonl');
    const traffic = startTraffic(fresh, {
      rate: 40,
      durationMs: 4000,
      ledgerPath: ledger4,
      seed: 3,
      concurrency: 4,
    });
    let killed = 0;
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      killed += await withClient(fresh, async (c) => {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'domainflow-sim' AND state = 'active' AND query = 'COMMIT'
              AND datname = current_database()) t`,
        );
        return r.rows[0].n as number;
      });
      await sleep(100);
    }
    const r = await traffic.done;
    expect(killed).toBeGreaterThan(0);
    expect(r.uncertainWrites).toBeGreaterThan(0);
    expect(r.failedWrites).toBe(0);
    const uncertainEntries = (await readLedger(ledger4)).filter((x) => x.uncertain).length;
    expect(uncertainEntries).toBeGreaterThanOrEqual(r.uncertainWrites);
    const v = await verifyLedger(fresh, ledger4);
    expect(v.uncertainSkipped).toBe(uncertainEntries);
    expect(v.mismatches).toEqual([]);
  });
});
