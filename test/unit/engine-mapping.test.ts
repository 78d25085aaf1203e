import { describe, expect, it } from 'vitest';
import { mappedTables } from '../../src/engine/consolidate.js';
import { V2 } from '../../src/schema/v2/index.js';

describe('engine mapping of the v2 definition', () => {
  const tables = mappedTables(V2);

  it('lists tables parents-first, so backfill and the applier quarantine a parent before its children', () => {
    const seen = new Set<string>();
    for (const t of tables) {
      for (const fk of t.def.foreignKeys) {
        const parent = `${fk.references.schema}.${fk.references.table}`;
        if (parent !== `${t.def.schema}.${t.def.name}`)
          expect(seen.has(parent), `${t.def.name} -> ${parent}`).toBe(true);
      }
      seen.add(`${t.def.schema}.${t.def.name}`);
    }
  });

  it('writes every carried column back on reverse sync (a rollback loses nothing)', () => {
    for (const t of tables) {
      const reverse = new Set(t.targetColumns.reverse.map((c) => c.column));
      for (const col of t.def.columns) {
        const m = t.def.mapping[col.name]!;
        if (m.legacyColumn || /^s\./.test(m.forward))
          expect(reverse.has(m.legacyColumn ?? col.name), `${t.def.name}.${col.name}`).toBe(true);
      }
    }
  });

  it('cascades quarantine: children of an excludable campaign follow it out of v2', () => {
    const params = tables.find((t) => t.def.name === 'domain_generation_campaign_params')!;
    const cascade = params.issues.filter((i) => i.id.endsWith('.parent_quarantined'));
    expect(cascade.length).toBe(1);
    expect(cascade[0]!.quarantine.action).toBe('exclude_row');
    expect(params.excludePredicate).toContain('consolidation.engine_quarantine');
    const dns = tables.find((t) => t.def.name === 'dns_validation_results')!;
    const nulling = dns.issues.find(
      (i) => i.id.includes('generated_domain_id') && i.id.endsWith('.parent_quarantined'),
    );
    expect(nulling?.quarantine).toEqual({ action: 'null_column', column: 'generated_domain_id' });
  });
});
