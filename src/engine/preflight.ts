/**
 * Checks made before the engine changes anything: validate's own checks (src/validate/preflight.ts),
 * so a database `dfc validate` calls ready is one the engine does not refuse, and a problem validate
 * reports stops the engine with the same reason and fix.
 */
import type pg from 'pg';
import { assertPreflight } from '../validate/preflight.js';

export async function preflight(c: pg.ClientBase, opts: { requireLegacy: boolean }): Promise<void> {
  await assertPreflight(c, opts);
}
