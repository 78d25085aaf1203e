/** check:conversion — rows that cannot convert, counted before anything is copied (phase 1). */
import type { Step } from '../../core/step.js';
import { DfcError } from '../../errors.js';
import { countConversionIssues } from '../support.js';
import type { ConsolidateContext } from './context.js';

export function checkConversionStep(issueCount: number): Step<ConsolidateContext> {
  return {
    id: 'check:conversion',
    phase: 'phase1_validation',
    tx: 'none',
    describe: () => ({
      summary: `count legacy rows that cannot convert (${issueCount} issue predicates); abort or quarantine`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const bad = (await countConversionIssues(c, ctx.tables)).filter((i) => i.count > 0);
      // tables whose rows matched: only those pay for per-row predicates in the backfill under the
      // abort policy (anything later is captured and applied with the predicates)
      await c.query(
        `UPDATE consolidation.engine_runs SET options = options || jsonb_build_object('issue_tables', $2::jsonb) WHERE run_id = $1`,
        [ctx.runId, JSON.stringify([...new Set(bad.map((i) => i.table))])],
      );
      if (bad.length && ctx.onInvalid === 'abort') {
        await c.query(`UPDATE consolidation.engine_runs SET state = 'aborted' WHERE run_id = $1`, [
          ctx.runId,
        ]);
        throw new DfcError(
          'CONSOLIDATION_04',
          `${bad.reduce((a, i) => a + i.count, 0)} legacy rows cannot be converted to v2: ${bad.map((i) => `${i.id} (${i.count}, e.g. ${JSON.stringify(i.sample.slice(0, 3))})`).join('; ')}`,
          {
            fix: 'fix the rows (each reason and fix is listed by `dfc validate`), or rerun with --on-invalid quarantine to keep the original rows in consolidation.engine_quarantine and convert the rest; nothing was copied',
            details: { issues: bad },
          },
        );
      }
      return { issues: bad.length };
    },
  };
}
