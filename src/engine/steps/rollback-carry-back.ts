/**
 * rollback:read-surface and rollback:carry-back (engine/carry-back.ts) — under the rollback's
 * locks: other applications' views, foreign keys, publication membership and objects made on v2
 * during the window are read before the moves and replayed on the legacy tables after them (what
 * cannot go back is one CONSOLIDATION_01 and the transaction rolls back). The two steps share what
 * was read; a retried attempt reads again.
 */
import type { Step } from '../../core/step.js';
import type { Surface } from '../carry.js';
import { applyCarryBack, readCarryBack } from '../carry-back.js';
import type { MovedRel } from '../rollback-points.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

export function rollbackCarryBackSteps(movedIn: MovedRel[]): [Step<RollbackContext>, Step<RollbackContext>] {
  let surface: Surface | undefined;
  const v2Views = movedIn.filter((m) => m.kind === 'v' || m.kind === 'm').map((m) => `${m.schema}.${m.name}`);
  return [
    {
      id: 'rollback:read-surface',
      phase: ROLLBACK_PHASE,
      tx: 'cutover-locks',
      describe: () => ({
        summary:
          "read what follows v2 back: other applications' views and foreign keys on the v2 tables, publication membership, triggers/rules/policies made on v2 since the cutover",
      }),
      async run(ctx) {
        surface = await readCarryBack(ctx.session.client, ctx.v2, v2Views);
        return { foreign: surface.foreign.length };
      },
    },
    {
      id: 'rollback:carry-back',
      phase: ROLLBACK_PHASE,
      tx: 'cutover-locks',
      describe: () => ({
        summary:
          'replay them on the legacy tables (views and foreign keys re-pointed, publications moved); anything that cannot go back is CONSOLIDATION_01 naming it',
      }),
      async run(ctx) {
        const r = await applyCarryBack(ctx.session.client, surface!);
        return { carried: r.carried.length };
      },
    },
  ];
}
