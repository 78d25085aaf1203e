/** cutover:functions — v2's functions (same signatures as legacy, so CREATE OR REPLACE), table triggers and the install epilogue. */
import type { Step } from '../../core/step.js';
import { INSTALL_SCHEMAS } from '../../schema/v2/model.js';
import * as render from '../../schema/v2/render.js';
import { allTables } from '../build.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverFunctionsStep(): Step<CutoverContext> {
  return {
    id: 'cutover:functions',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: 'v2 functions (CREATE OR REPLACE), table triggers, the install epilogue' }),
    async run(ctx) {
      const c = ctx.session.client;
      // one round trip: none of it takes a parameter
      await c.query(
        [
          'SET LOCAL search_path = public',
          ctx.v2.functions,
          ...allTables(ctx.v2).flatMap((t) =>
            t.triggers.map((trg) => render.triggerSql(t, trg, INSTALL_SCHEMAS)),
          ),
          ctx.v2.epilogue(INSTALL_SCHEMAS),
        ].join(';\n'),
      );
    },
  };
}
