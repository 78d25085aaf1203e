/**
 * `dfc validate` (guide step 1): is this database ready for consolidation? Reads the live database
 * in one REPEATABLE READ, READ ONLY transaction (one snapshot, and the server itself refuses any
 * write), installs nothing, and runs the checks of checks.ts — the same SQL the installed
 * consolidation.validate_current_schema() runs — plus the catalog comparison only TypeScript can
 * do (the expected legacy catalog ships as data with the package). Drift is a warning: real
 * databases diverge, and the engine is driven by the live catalog.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { redactUrl, withClient } from '../db/connection.js';
import { DfcError, sqlstate } from '../errors.js';
import { LEGACY_DIR } from '../migrate/runner.js';
import { type Catalog, diffCatalogs, looseCatalog, readCatalog } from '../schema/catalog.js';
import {
  ASSEMBLE_SQL,
  CHECK_FAILED_SQL,
  GATE_SQL,
  relExistsSql,
  type ValidationCheck,
  validationChecks,
} from './checks.js';
import { skipReason } from './render.js';

export interface ValidationProblem {
  code: string;
  category: 'migration' | 'extension' | 'privilege' | 'dependency' | 'data' | 'check' | 'bookkeeping';
  reason: string;
  fix: string;
  /** conversion problems: issue id, legacy table, offending rows, up to 5 sample keys */
  issue?: string;
  table?: string;
  count?: number;
  samples?: Record<string, unknown>[];
  quarantine?: 'null_column' | 'exclude_row';
  guide_field?: 'invalid_users' | 'orphaned_domains';
  check?: string;
}

export interface ValidationWarning {
  code: string;
  reason: string;
  fix: string;
}

export interface CatalogDrift {
  checked: boolean;
  note?: string;
  /** one line per difference, `expected` vs `live` (diffCatalogs) */
  differences?: string[];
}

/** The guide's fields first (same names as consolidation.validate_current_schema()), then ours. */
export interface ValidationReport {
  table_count: number;
  session_auth_migrated: boolean;
  invalid_users: number;
  orphaned_domains: number;
  total_integrity_issues: number;
  ready_for_consolidation: boolean;
  problems: ValidationProblem[];
  warnings: ValidationWarning[];
  skipped_checks: { check: string; reason: string }[];
  facts: {
    migration?: { present: boolean; version?: number | null; dirty?: boolean; expected_version: number };
    extensions?: Record<string, { installed: string | null; available: string | null }> & {
      pg_stat_statements_preloaded?: boolean;
    };
    privileges?: {
      role: string;
      superuser: boolean;
      create_on_database: boolean;
      create_on_public: boolean | null;
      create_on_auth: boolean | null;
      tables_checked: number;
      tables_not_owned: { table: string; owner: string }[];
      tables_without_trigger_privilege: string[];
    };
    dependents?: { kind: string; object: string; depends_on: string; carried: boolean }[];
    space?: {
      domainflow_bytes: number;
      factor: number;
      shadow_copy_bytes_estimate: number;
      shadow_copy_pretty: string;
      note: string;
    };
    server_version?: string;
    database?: string;
    role?: string;
    [k: string]: unknown;
  };
  catalog_drift: CatalogDrift;
  /** redacted target URL */
  target: string;
}

async function runCheck(
  c: pg.ClientBase,
  check: ValidationCheck,
  acc: { facts: Record<string, unknown>; problems: unknown[]; warnings: unknown[]; skipped: unknown[] },
): Promise<void> {
  if (check.requires.length) {
    const r = await c.query<{ ok: boolean }>(
      `SELECT ${check.requires.map(relExistsSql).join(' AND ')} AS ok`,
    );
    if (!r.rows[0]?.ok) {
      acc.skipped.push({ check: check.id, reason: skipReason.missing(check) });
      return;
    }
  }
  if (check.needsCompleteLegacy) {
    const g = await c.query<{ ok: boolean }>(GATE_SQL, [JSON.stringify(acc.facts)]);
    if (!g.rows[0]?.ok) {
      acc.skipped.push({ check: check.id, reason: skipReason.gate });
      return;
    }
  }
  // a savepoint per check: one failing check (e.g. a drifted column) must not hide the others
  await c.query('SAVEPOINT dfc_check');
  try {
    // first column whatever its name, as plpgsql's EXECUTE ... INTO does
    const r = await c.query<[{ facts?: object; problems?: unknown[]; warnings?: unknown[] } | null]>({
      text: check.sql,
      rowMode: 'array',
    });
    const out = r.rows[0]?.[0] ?? {};
    Object.assign(acc.facts, out.facts ?? {});
    acc.problems.push(...(out.problems ?? []));
    acc.warnings.push(...(out.warnings ?? []));
    await c.query('RELEASE SAVEPOINT dfc_check');
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT dfc_check');
    const msg = e instanceof Error ? e.message : String(e);
    const p = await c.query<{ p: unknown }>(CHECK_FAILED_SQL, [check.id, msg, sqlstate(e) ?? null]);
    acc.problems.push(p.rows[0]!.p);
  }
}

/** Run every check on an open session, inside the caller's read-only transaction. */
export async function runValidationChecks(
  c: pg.ClientBase,
  checks = validationChecks(),
): Promise<Omit<ValidationReport, 'catalog_drift' | 'target'>> {
  const acc = { facts: {} as Record<string, unknown>, problems: [] as unknown[], warnings: [], skipped: [] };
  for (const check of checks) await runCheck(c, check, acc);
  const r = await c.query<{ report: Omit<ValidationReport, 'catalog_drift' | 'target'> }>(ASSEMBLE_SQL, [
    JSON.stringify(acc.facts),
    JSON.stringify(acc.problems),
    JSON.stringify(acc.warnings),
    JSON.stringify(acc.skipped),
  ]);
  return r.rows[0]!.report;
}

/**
 * The expected legacy catalog (generated from the data dictionary + errata, never from a database).
 * Shipped as src/schema/legacy-catalog.json; a development checkout falls back to the test fixture
 * it is generated as.
 */
export function expectedLegacyCatalog(): Catalog {
  const root = path.dirname(path.dirname(LEGACY_DIR));
  const candidates = [
    path.join(root, 'src', 'schema', 'legacy-catalog.json'),
    path.join(root, 'test', 'fixtures', 'legacy-catalog.json'),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (!file)
    throw new DfcError('DFC_INTERNAL', 'the expected legacy catalog is not installed with dfc', {
      fix: `reinstall dfc; one of ${candidates.join(', ')} must exist`,
    });
  return JSON.parse(readFileSync(file, 'utf8')) as Catalog;
}

/** Live public/auth catalog vs the expected legacy one, compared at the dictionary's level of detail. */
async function catalogDrift(c: pg.ClientBase, isDomainFlow: boolean): Promise<CatalogDrift> {
  if (!isDomainFlow) return { checked: false, note: 'not a DomainFlow database: nothing to compare' };
  await c.query('SAVEPOINT dfc_catalog');
  try {
    const live = looseCatalog(await readCatalog(c, ['public', 'auth']));
    const differences = diffCatalogs(expectedLegacyCatalog(), live, { a: 'expected', b: 'live' });
    await c.query('RELEASE SAVEPOINT dfc_catalog');
    return { checked: true, differences };
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT dfc_catalog');
    if (e instanceof DfcError) throw e;
    return {
      checked: false,
      note: `the catalog could not be read: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/**
 * Validate the database at `url` without changing it.
 *
 * @example
 *   const report = await validateDatabase(url);
 *   if (!report.ready_for_consolidation) throw notReadyError(report);
 */
export async function validateDatabase(url: string): Promise<ValidationReport> {
  return withClient(
    url,
    async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const base = await runValidationChecks(c);
        const catalog_drift = await catalogDrift(c, base.facts.migration?.present === true);
        if (catalog_drift.differences?.length)
          base.warnings.push({
            code: 'catalog_drift',
            reason: `the catalog of public/auth differs from the expected legacy catalog (000017, model C + errata) in ${catalog_drift.differences.length} place(s): the engine follows the live catalog, but review each difference`,
            fix: 'see catalog_drift.differences (dfc validate --json); restore objects that were changed by hand, or accept the difference knowingly',
          });
        return { ...base, catalog_drift, target: redactUrl(url) };
      } finally {
        await c.query('ROLLBACK').catch(() => {});
      }
    },
    'dfc-validate',
  );
}

/** The CONSOLIDATION_01 error for a report that is not ready: every reason with its fix. */
export function notReadyError(report: ValidationReport): DfcError {
  const lines = report.problems.map((p) => {
    const n = p.count !== undefined ? ` (${p.count} row${p.count === 1 ? '' : 's'})` : '';
    return `- ${p.reason}${n}\n    fix: ${p.fix}`;
  });
  return new DfcError(
    'CONSOLIDATION_01',
    `schema validation failed: ${report.problems.length} problem(s) block consolidation\n${lines.join('\n')}`,
    {
      fix: 'fix each problem as listed (or choose --on-invalid quarantine for row-level data problems), then run dfc validate again',
      details: {
        problems: report.problems.map(({ samples: _s, ...p }) => p),
        total_integrity_issues: report.total_integrity_issues,
      },
    },
  );
}
