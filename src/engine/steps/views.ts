/** views:create — v2's views and materialized views over the shadow tables (they follow the OIDs at cutover). */
import type { Step } from '../../core/step.js';
import { createShadowViews } from '../build.js';
import type { ConsolidateContext } from './context.js';

export function viewsStep(): Step<ConsolidateContext> {
  return {
    id: 'views:create',
    phase: 'phase3_optimization',
    tx: 'transaction',
    describe: () => ({ summary: 'views and materialized views over the shadow tables' }),
    run: (ctx) => createShadowViews(ctx.session.client, ctx.v2),
  };
}
