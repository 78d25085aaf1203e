/**
 * Rollback's half of carrying (issue 8/9): what the cutover re-pointed at v2 goes back to the
 * legacy tables in the rollback transaction, read before its locks (proved under them by the
 * fingerprint, surface-cache.ts) and replayed after the moves — other applications' views and foreign keys (else they keep reading v2 in the shadow
 * schema), publication membership, triggers, rules and policies other applications made on v2
 * during the window (and the carried policies dropped on v2 then), and v2's owner, table, column
 * and sequence ACLs and RLS switches as they are now (a GRANT, REVOKE or ENABLE ROW LEVEL SECURITY
 * on v2 during the window holds on legacy afterwards; RLS v2 defines itself stays v2's). The copy
 * kept the originals of every trigger and policy the cutover carried, its storage options and
 * comments. The next cutover carries everything forward again (carry.ts replaces the copies it
 * left on v2 the first time).
 */
import type pg from 'pg';
import type { V2Definition } from '../schema/v2/model.js';
import { allTables } from './build.js';
import { applySurface, type CarryResult, readSurface, type Surface } from './carry.js';

/** Before the moves: v2 is live. `v2Views`: `schema.name` of the views the rollback moves out with v2. */
export async function readCarryBack(c: pg.ClientBase, v2: V2Definition, v2Views: string[]): Promise<Surface> {
  const tables = allTables(v2);
  return readSurface(
    c,
    tables.map((t) => `${t.schema}.${t.name}`),
    {
      back: true,
      ownTriggers: tables.flatMap((t) => t.triggers.map((trg) => `${t.schema}.${t.name}.${trg.name}`)),
      ownPolicies: tables.flatMap((t) =>
        (t.rowLevelSecurity?.policies ?? []).map((p) => `${t.schema}.${t.name}.${p.name}`),
      ),
      ownViews: v2Views,
      ownRls: tables.filter((t) => t.rowLevelSecurity).map((t) => `${t.schema}.${t.name}`),
    },
  );
}

/** After the moves: legacy is live again. Throws CONSOLIDATION_01 (the caller rolls back) on what cannot go back. */
export function applyCarryBack(c: pg.ClientBase, s: Surface): Promise<CarryResult> {
  return applySurface(c, s, { back: true });
}
