/** The ledger fold: last write wins, deletes, re-inserts, the modelled cascades, uncertain writes. */
import { describe, expect, it } from 'vitest';
import { type ExpectedRow, foldLedger, type LedgerEntry } from '../../workload/ledger-format.js';

let seq = 0;
const e = (x: Omit<LedgerEntry, 'seq' | 'at'>): LedgerEntry => ({
  ...x,
  seq: ++seq,
  at: '2026-01-01T00:00:00Z',
});
const find = (rows: ExpectedRow[], table: string, id: string) =>
  rows.find((r) => r.table === table && r.key.id === id);

describe('foldLedger', () => {
  it('merges updates into inserts, last write wins, delete then insert is present with the new values', () => {
    const { rows } = foldLedger([
      e({
        table: 'public.campaigns',
        key: { id: 'c1' },
        op: 'insert',
        values: { name: 'a', status: 'pending' },
      }),
      e({ table: 'public.campaigns', key: { id: 'c1' }, op: 'update', values: { status: 'queued' } }),
      e({ table: 'public.campaigns', key: { id: 'c1' }, op: 'update', values: { status: null } }),
      e({
        table: 'public.campaign_jobs',
        key: { id: 'j1' },
        op: 'insert',
        values: { status: 'x', campaign_id: 'c9' },
      }),
      e({ table: 'public.campaign_jobs', key: { id: 'j1' }, op: 'delete' }),
      e({ table: 'public.campaign_jobs', key: { id: 'j1' }, op: 'insert', values: { job_type: 'y' } }),
      e({ table: 'auth.sessions', key: { id: 's1' }, op: 'update', values: { last_activity_at: 't' } }),
    ]);
    expect(find(rows, 'public.campaigns', 'c1')).toMatchObject({
      present: true,
      values: { name: 'a', status: null },
    });
    expect(find(rows, 'public.campaign_jobs', 'j1')).toMatchObject({
      present: true,
      values: { job_type: 'y' },
    });
    expect(find(rows, 'public.campaign_jobs', 'j1')!.values).not.toHaveProperty('status');
    expect(find(rows, 'auth.sessions', 's1')).toMatchObject({
      present: true,
      values: { last_activity_at: 't' },
    });
  });

  it('a deleted campaign takes its ledger children with it and nulls references to deleted rows', () => {
    const { rows } = foldLedger([
      e({ table: 'public.campaigns', key: { id: 'c1' }, op: 'insert', values: { name: 'a' } }),
      e({
        table: 'public.generated_domains',
        key: { id: 'd1' },
        op: 'insert',
        values: { domain_generation_campaign_id: 'c1', domain_name: 'x.com' },
      }),
      // a seeded domain we only updated: its parent is known from refs
      e({
        table: 'public.generated_domains',
        key: { id: 'd2' },
        op: 'update',
        values: { source_keyword: null },
        refs: { domain_generation_campaign_id: 'c1' },
      }),
      // a DNS result of another campaign pointing at d1: survives, but its generated_domain_id is nulled
      e({
        table: 'public.dns_validation_results',
        key: { id: 'r1' },
        op: 'insert',
        values: { dns_campaign_id: 'c2', generated_domain_id: 'd1', domain_name: 'x.com' },
      }),
      e({
        table: 'public.http_keyword_results',
        key: { id: 'h1' },
        op: 'insert',
        values: { http_keyword_campaign_id: 'c2', dns_result_id: 'r1' },
      }),
      e({
        table: 'public.domain_generation_campaign_params',
        key: { campaign_id: 'c1' },
        op: 'update',
        values: { current_offset: '10' },
      }),
      e({ table: 'public.campaigns', key: { id: 'c1' }, op: 'delete' }),
    ]);
    expect(find(rows, 'public.campaigns', 'c1')!.present).toBe(false);
    expect(find(rows, 'public.generated_domains', 'd1')!.present).toBe(false);
    expect(find(rows, 'public.generated_domains', 'd2')!.present).toBe(false);
    expect(rows.find((r) => r.table === 'public.domain_generation_campaign_params')!.present).toBe(false);
    const r1 = find(rows, 'public.dns_validation_results', 'r1')!;
    expect(r1.present).toBe(true);
    expect(r1.values.generated_domain_id).toBeNull();
    expect(find(rows, 'public.http_keyword_results', 'h1')!.values.dns_result_id).toBe('r1');
  });

  it('deleting a DNS result nulls the HTTP results that referenced it', () => {
    const { rows } = foldLedger([
      e({
        table: 'public.http_keyword_results',
        key: { id: 'h1' },
        op: 'insert',
        values: { dns_result_id: 'r1' },
      }),
      e({ table: 'public.dns_validation_results', key: { id: 'r1' }, op: 'delete' }),
    ]);
    expect(find(rows, 'public.http_keyword_results', 'h1')).toMatchObject({
      present: true,
      values: { dns_result_id: null },
    });
  });

  it('uncertain writes make what they touched unknown and are counted', () => {
    const { rows, uncertainSkipped } = foldLedger([
      e({
        table: 'public.campaigns',
        key: { id: 'c1' },
        op: 'insert',
        values: { name: 'a', status: 'pending' },
      }),
      e({
        table: 'public.campaigns',
        key: { id: 'c1' },
        op: 'update',
        values: { status: 'queued' },
        uncertain: true,
      }),
      e({
        table: 'public.campaign_jobs',
        key: { id: 'j1' },
        op: 'insert',
        values: { status: 'x' },
        uncertain: true,
      }),
    ]);
    expect(uncertainSkipped).toBe(2);
    expect(find(rows, 'public.campaigns', 'c1')).toMatchObject({ present: true, values: { name: 'a' } });
    expect(find(rows, 'public.campaigns', 'c1')!.values).not.toHaveProperty('status');
    expect(find(rows, 'public.campaign_jobs', 'j1')!.present).toBeUndefined();
  });
});
