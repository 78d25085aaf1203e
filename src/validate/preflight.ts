/**
 * The one preflight: the checks `dfc validate` runs, on the plan's own session, before the plan
 * changes anything. A problem validate calls blocking stops the plan with validate's own reason
 * and fix, so "ready" from validate means no plan refuses for a reason validate could have seen.
 *
 * Left to the plan: the per-row conversion checks (full scans of every legacy table). The engine
 * counts them once itself, before copying, and they block only under --on-invalid abort.
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { type ValidationCheck, validationChecks } from './checks.js';
import { runValidationChecks, type ValidationProblem } from './validate.js';

export interface PreflightOptions {
  /**
   * true: the plan starts from legacy 000017 (consolidate, its dry run): every check.
   * false: a plan that may also run on v2 (after cutover): the database is DomainFlow at a clean
   * 17, with the extensions and privileges, but "already consolidated" and the legacy-only checks
   * do not apply.
   */
  requireLegacy: boolean;
  v2?: V2Definition;
}

/** Checks that hold only while the tables are the legacy ones. */
const LEGACY_ONLY = new Set(['already_consolidated', 'session_auth', 'legacy_core', 'dependents']);

/** Validate's checks a plan runs first (all but the per-row conversion checks). */
export function preflightChecks(opts: PreflightOptions): ValidationCheck[] {
  const def = opts.v2 ?? V2;
  const conversion = new Set(def.tables.flatMap((t) => t.conversionIssues.map((i) => i.id)));
  return validationChecks(def).filter(
    (c) => !conversion.has(c.id) && (opts.requireLegacy || !LEGACY_ONLY.has(c.id)),
  );
}

/**
 * Every blocking problem validate would report (minus row-level data), read in one snapshot that
 * writes nothing: its own READ ONLY transaction, or a savepoint in the caller's transaction.
 */
export async function preflightProblems(
  c: pg.ClientBase,
  opts: PreflightOptions,
): Promise<ValidationProblem[]> {
  // SAVEPOINT fails (and changes nothing) outside a transaction block: that is how we tell
  const nested = await c.query('SAVEPOINT dfc_preflight').then(
    () => true,
    () => false,
  );
  if (!nested) await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return (await runValidationChecks(c, preflightChecks(opts))).problems;
  } finally {
    if (nested) await c.query('ROLLBACK TO SAVEPOINT dfc_preflight; RELEASE SAVEPOINT dfc_preflight');
    else await c.query('ROLLBACK').catch(() => {});
  }
}

/** The problems as one error: each with validate's reason and fix, word for word. */
export function preflightError(problems: ValidationProblem[]): DfcError {
  const only = problems.length === 1 ? problems[0]! : undefined;
  return new DfcError(
    problems.every((p) => p.category === 'privilege') ? 'DFC_PRIVILEGE' : 'CONSOLIDATION_01',
    only
      ? `${only.reason}; nothing was changed`
      : `${problems.length} problems block consolidation; nothing was changed\n${problems.map((p) => `- ${p.reason}\n    fix: ${p.fix}`).join('\n')}`,
    {
      fix: only ? only.fix : 'fix each problem as listed (the same list `dfc validate` prints), then rerun',
      details: { problems },
    },
  );
}

/**
 * Refuse, before any change, what validate calls blocking.
 *
 * @example
 *   await assertPreflight(c, { requireLegacy: true }); // throws DfcError (validate's reason + fix) or returns
 */
export async function assertPreflight(c: pg.ClientBase, opts: PreflightOptions): Promise<void> {
  const problems = await preflightProblems(c, opts);
  if (problems.length) throw preflightError(problems);
}
