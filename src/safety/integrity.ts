/**
 * `dfc integrity setup | run | status` over the SQL of db/bookkeeping/0003 and 0012: checks are rows
 * of safety.integrity_monitoring (the standard six, catalog checks, one orphan anti-join per foreign
 * key generated from pg_constraint); a run records each violation with its time and sample keys.
 *
 * @example
 *   await setupIntegrityChecks(url);   // SELECT safety.setup_standard_integrity_checks()
 *   await runIntegrityChecks(url);     // SELECT safety.run_all_integrity_checks()
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';
import { connect } from '../db/connection.js';

async function withSafety<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(url, 'dfc-integrity');
  try {
    await ensureBookkeeping(c);
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export interface IntegritySetupResult {
  added: string[];
  disabled: string[];
  total: number;
}

export async function setupIntegrityChecks(url: string): Promise<IntegritySetupResult> {
  return withSafety(url, async (c) => {
    const r = await c.query<{ r: IntegritySetupResult }>(
      'SELECT safety.setup_standard_integrity_checks() AS r',
    );
    return r.rows[0]!.r;
  });
}

export interface IntegrityRunResult {
  checked_at: string;
  checks: number;
  violations: number;
  errors: number;
  results: { check: string; violations?: number; error?: string }[];
}

export async function runIntegrityChecks(url: string): Promise<IntegrityRunResult> {
  return withSafety(url, async (c) => {
    const r = await c.query<{ r: IntegrityRunResult }>('SELECT safety.run_all_integrity_checks() AS r');
    return r.rows[0]!.r;
  });
}

export interface IntegrityCheckStatus {
  check_name: string;
  description: string;
  severity: 'info' | 'warning' | 'critical';
  status: 'never_run' | 'error' | 'violations' | 'ok';
  last_run_at: string | null;
  last_violation_count: number | null;
  last_error: string | null;
  /** latest open violation: when it was seen and sample keys */
  open_violation: { detected_at: string; violation_count: number; sample_keys: unknown[] } | null;
}

/** The dashboard as last run (it does not run the checks: `runIntegrityChecks` does). */
export async function integrityStatus(url: string): Promise<IntegrityCheckStatus[]> {
  return withSafety(url, async (c) => {
    const r = await c.query<IntegrityCheckStatus>(
      `SELECT d.check_name, d.description, d.severity, d.status, d.last_run_at, d.last_violation_count::int, d.last_error,
              (SELECT jsonb_build_object('detected_at', v.detected_at, 'violation_count', v.violation_count, 'sample_keys', v.sample_keys)
                 FROM safety.integrity_violations v WHERE v.check_name = d.check_name AND v.resolved_at IS NULL
                ORDER BY v.id DESC LIMIT 1) AS open_violation
         FROM safety.integrity_dashboard d WHERE d.enabled
        ORDER BY CASE d.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, d.check_name`,
    );
    return r.rows;
  });
}

export interface ReferentialIntegrityReport {
  checked_at: string;
  foreign_keys_checked: number;
  orphaned_rows: number;
  valid: boolean;
  violations: {
    constraint: string;
    table: string;
    references: string;
    validated: boolean;
    orphans: number;
    samples: unknown[];
  }[];
}

/** The guide's consolidation.validate_referential_integrity(): an anti-join per foreign key. */
export async function validateReferentialIntegrity(url: string): Promise<ReferentialIntegrityReport> {
  return withSafety(url, async (c) => {
    const r = await c.query<{ r: ReferentialIntegrityReport }>(
      'SELECT consolidation.validate_referential_integrity() AS r',
    );
    return r.rows[0]!.r;
  });
}
