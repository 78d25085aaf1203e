/**
 * cutover:read-surface — under the locks, before anything moves: the application surface of every
 * legacy relation v2 replaces (carry.ts) and every role's effective-privilege matrix.
 */
import type { Step } from '../../core/step.js';
import { readSurface } from '../carry.js';
import { privilegeMatrix } from '../privileges.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverSurfaceStep(): Step<CutoverContext> {
  return {
    id: 'cutover:read-surface',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        "read the legacy relations' application surface (owners, grants, RLS, policies, comments, storage options, publications, other applications' objects) and every role's effective-privilege matrix",
    }),
    async run(ctx) {
      const c = ctx.session.client;
      ctx.attempt.privilegesBefore = await privilegeMatrix(c);
      ctx.attempt.surface = await readSurface(
        c,
        ctx.present.map((t) => t.captureName.forward),
      );
      return { roles: ctx.attempt.privilegesBefore.roles.length };
    },
  };
}
