/**
 * cutover:carry — the surface read under the locks replayed on v2 (each statement in a savepoint;
 * what fails is one CONSOLIDATION_01), then every role's effective-privilege matrix must equal
 * the one taken before the moves, or the transaction rolls back; and the legacy ACLs must still be
 * the ones the surface read (carry.ts assertAclsUnchanged), or the transaction is retried.
 */
import type { Step } from '../../core/step.js';
import { applySurface, assertAclsUnchanged } from '../carry.js';
import { assertSamePrivileges, privilegeMatrix } from '../privileges.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverCarryStep(): Step<CutoverContext> {
  return {
    id: 'cutover:carry',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'carry the application surface to v2 (anything not valid on v2 is CONSOLIDATION_01 naming it); the privilege matrix must be identical',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const a = ctx.attempt;
      a.carried = await applySurface(c, a.surface!);
      await assertSamePrivileges(
        a.privilegesBefore!,
        await privilegeMatrix(c, undefined, undefined, a.privilegesBefore!.roles),
      );
      // last: a GRANT that slipped through the locks (PostgreSQL < 18) means read again and retry
      const aclsChecked = await assertAclsUnchanged(c, a.surface!);
      return { carried: Object.keys(a.carried).length, aclsChecked };
    },
  };
}
