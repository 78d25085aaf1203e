/**
 * Renders consolidation.validate_current_schema() from the check list in checks.ts, so the SQL
 * function and `dfc validate` run the same SQL texts in the same order and assemble the answer
 * with the same ASSEMBLE_SQL. Installed by ensureBookkeeping (replaced when the text changes).
 */

import { quoteLiteral } from '../sql/sql.js';
import {
  ASSEMBLE_SQL,
  CHECK_FAILED_SQL,
  GATE_SQL,
  relExistsSql,
  type ValidationCheck,
  validationChecks,
} from './checks.js';

/** Why a check did not run: the same strings in both runners. */
export const skipReason = {
  missing: (c: ValidationCheck) => `requires ${c.requires.join(', ')}`,
  gate: 'migration state is not clean at 17, or the database is already on v2',
};

const lit = quoteLiteral;

/** Dollar-quote a shipped SQL text with a tag it does not contain. */
function dollar(text: string): string {
  let tag = 'q';
  while (text.includes(`$${tag}$`)) tag += 'q';
  return `$${tag}$${text}$${tag}$`;
}

function renderCheck(c: ValidationCheck): string {
  const skipMissing = `skipped := skipped || jsonb_build_array(jsonb_build_object('check', ${lit(c.id)}, 'reason', ${lit(skipReason.missing(c))}));`;
  const run = `BEGIN
      EXECUTE ${dollar(c.sql)} INTO r;
      facts := facts || coalesce(r -> 'facts', '{}');
      problems := problems || coalesce(r -> 'problems', '[]');
      warnings := warnings || coalesce(r -> 'warnings', '[]');
    EXCEPTION WHEN OTHERS THEN
      EXECUTE ${dollar(CHECK_FAILED_SQL)} INTO p USING ${lit(c.id)}::text, SQLERRM, SQLSTATE;
      problems := problems || jsonb_build_array(p);
    END;`;
  const gated = c.needsCompleteLegacy
    ? `EXECUTE ${dollar(GATE_SQL)} INTO ok USING facts;
    IF NOT ok THEN
      skipped := skipped || jsonb_build_array(jsonb_build_object('check', ${lit(c.id)}, 'reason', ${lit(skipReason.gate)}));
    ELSE
    ${run}
    END IF;`
    : run;
  if (c.requires.length === 0) return `  -- ${c.id}\n  ${gated}`;
  const cond = c.requires.map(relExistsSql).join(' AND ');
  return `  -- ${c.id}
  IF ${cond} THEN
    ${gated}
  ELSE
    ${skipMissing}
  END IF;`;
}

/**
 * The function text. `body` is exactly what pg_proc.prosrc will hold, so ensureBookkeeping can tell
 * whether the installed function is current.
 */
export function renderValidateFunction(checks = validationChecks()): { body: string; createSql: string } {
  const body = `
-- Generated from src/validate/checks.ts (dfc). Read-only: it changes nothing.
DECLARE
  r jsonb;
  p jsonb;
  ok boolean;
  facts jsonb := '{}';
  problems jsonb := '[]';
  warnings jsonb := '[]';
  skipped jsonb := '[]';
  report jsonb;
BEGIN
${checks.map(renderCheck).join('\n')}
  EXECUTE ${dollar(ASSEMBLE_SQL)} INTO report USING facts, problems, warnings, skipped;
  RETURN report;
END
`;
  const createSql = `CREATE OR REPLACE FUNCTION consolidation.validate_current_schema() RETURNS jsonb
LANGUAGE plpgsql STABLE AS ${dollar(body)};
COMMENT ON FUNCTION consolidation.validate_current_schema() IS 'Guide step 1: is this database ready for consolidation? Same checks as dfc validate (which also compares the catalog with the expected legacy catalog).'`;
  return { body, createSql };
}
