/** The op mix: the same seed and data give the same sequence; reads and writes both well represented. */
import { describe, expect, it } from 'vitest';
import { chooseOp, type OpContext } from '../../workload/ops.js';
import { rng, World } from '../../workload/world.js';

function context(seed: number): OpContext {
  const w = new World(['00000000-0000-4000-8000-000000000001'], [], []);
  for (let i = 0; i < 5; i++)
    w.campaigns.add({
      id: `c${i}`,
      type: i % 2 ? 'dns_validation' : 'domain_generation',
      status: 'running',
      total: 10,
      processed: 1,
      hasParams: i % 2 === 0,
      created: i === 4,
    });
  for (let i = 0; i < 5; i++) {
    w.sessions.add({ id: `s${i}` });
    w.domains.add({ id: `d${i}`, campaignId: 'c0' });
    w.dnsResults.add({ id: `r${i}`, campaignId: 'c1', domainName: `x${i}.com` });
    w.jobs.add({ id: `j${i}`, campaignId: 'c2' });
  }
  return { world: w, r: rng(seed), token: 't', worker: 0, counter: { n: 0 } };
}

const sequence = (seed: number, n = 500) => {
  const x = context(seed);
  return Array.from({ length: n }, () => chooseOp(x));
};

describe('op mix', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = sequence(7).map((o) => o.name);
    expect(sequence(7).map((o) => o.name)).toEqual(a);
    expect(sequence(8).map((o) => o.name)).not.toEqual(a);
  });

  it('issues reads and writes of every kind', () => {
    const ops = sequence(1, 3000);
    const reads = ops.filter((o) => o.kind === 'read').length;
    expect(reads / ops.length).toBeGreaterThan(0.35);
    expect(reads / ops.length).toBeLessThan(0.65);
    const names = new Set(ops.map((o) => o.name));
    for (const n of [
      'campaign_create',
      'campaign_delete',
      'dns_delete',
      'job_delete',
      'domain_clear_keyword',
      'session_validate',
    ])
      expect(names).toContain(n);
  });
});
