/**
 * check:conversion — rows that cannot convert (phase 1). The count starts here in a session of its
 * own and runs while the copy and the index builds proceed (engine/conversion-check.ts);
 * check:conversion-result waits for it before the run can be ready. Under the abort policy a row
 * found stops the run: consolidate() undoes everything made meanwhile, then refuses.
 */
import type { Step } from '../../core/step.js';
import { ConversionCheck, conversionRefusal } from '../conversion-check.js';
import type { ConsolidateContext } from './context.js';

const checkOf = (ctx: ConsolidateContext): ConversionCheck => {
  if (!ctx.url) throw new Error("the conversion check needs the run context's url");
  ctx.conversion ??= new ConversionCheck(ctx.url, ctx.tables);
  return ctx.conversion;
};

export function checkConversionStep(issueCount: number): Step<ConsolidateContext> {
  return {
    id: 'check:conversion',
    phase: 'phase1_validation',
    tx: 'none',
    describe: () => ({
      summary: `start counting legacy rows that cannot convert (${issueCount} issue predicates) in a session of its own, beside the copy; abort or quarantine`,
    }),
    async run(ctx) {
      checkOf(ctx).start();
      return { started: true };
    },
  };
}

export function conversionResultStep(): Step<ConsolidateContext> {
  return {
    id: 'check:conversion-result',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary:
        'wait for the conversion count (a resumed run counts again); rows found under the abort policy: everything made is undone, then CONSOLIDATION_04',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const check = checkOf(ctx);
      const bad = await check.result();
      await c.query(
        `UPDATE consolidation.engine_runs SET options = options || jsonb_build_object('issue_tables', $2::jsonb) WHERE run_id = $1`,
        [ctx.runId, JSON.stringify([...new Set(bad.map((i) => i.table))])],
      );
      if (bad.length && ctx.onInvalid === 'abort') throw conversionRefusal(bad);
      return { issues: bad.length, countSeconds: check.seconds };
    },
  };
}
