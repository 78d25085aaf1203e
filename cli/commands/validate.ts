/**
 * `dfc validate` (guide step 1): print the readiness report; exit 0 when ready, else print the
 * CONSOLIDATION_01 block (every reason with its fix) and exit 1. `--json` prints the report as
 * one JSON line, then the error as one JSON line.
 */
import type { Command } from 'commander';
import { notReadyError, resolveTarget, type ValidationReport, validateDatabase } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const yes = (b: boolean | null | undefined) => (b === null || b === undefined ? 'n/a' : b ? 'yes' : 'no');

/** The human report: one line per area, then each problem with its rows, samples and fix. */
export function renderReport(r: ValidationReport): string {
  const f = r.facts;
  const m = f.migration;
  const ext = f.extensions ?? {};
  const extLine = ['uuid-ossp', 'pgcrypto', 'pg_stat_statements']
    .map((n) => {
      const e = ext[n] as { installed: string | null } | undefined;
      return `${n} ${e?.installed ?? 'MISSING'}`;
    })
    .join(', ');
  const p = f.privileges;
  const dataProblems = r.problems.filter((x) => x.category === 'data');
  const lines = [
    `dfc validate — ${r.target}`,
    `  migration state     ${m?.present ? `${m.version ?? 'none'}${m.dirty ? ' (DIRTY)' : ', clean'} (expected ${m.expected_version})` : 'no schema_migrations table'}`,
    `  extensions          ${extLine}; pg_stat_statements preloaded: ${yes(ext.pg_stat_statements_preloaded)}`,
    `  session auth        ${r.session_auth_migrated ? 'migrated (000017 columns present)' : 'NOT migrated'}`,
    `  tables              ${r.table_count} in public/auth`,
    p
      ? `  privileges          role ${p.role}${p.superuser ? ' (superuser)' : ''}; CREATE on database ${yes(p.create_on_database)}, public ${yes(p.create_on_public)}, auth ${yes(p.create_on_auth)}; tables not owned ${p.tables_not_owned.length}/${p.tables_checked}`
      : '  privileges          not checked',
    f.space
      ? `  shadow space        ~${f.space.shadow_copy_pretty} (${f.space.factor} × ${f.space.domainflow_bytes} bytes of DomainFlow relations); ${f.space.note}`
      : '  shadow space        not checked',
    `  foreign dependents  ${f.dependents?.length ? f.dependents.map((d) => `${d.kind} ${d.object} → ${d.depends_on}`).join('; ') : 'none'}`,
    `  row conversion      ${r.total_integrity_issues} row(s) in ${dataProblems.length} reason(s)`,
    `  catalog drift       ${r.catalog_drift.checked ? `${r.catalog_drift.differences?.length ?? 0} difference(s)` : `not checked: ${r.catalog_drift.note}`}`,
    `  guide fields        table_count=${r.table_count} session_auth_migrated=${r.session_auth_migrated} invalid_users=${r.invalid_users} orphaned_domains=${r.orphaned_domains} total_integrity_issues=${r.total_integrity_issues}`,
  ];
  const drift = r.catalog_drift.differences ?? [];
  for (const d of drift.slice(0, 10)) lines.push(`    ${d}`);
  if (drift.length > 10) lines.push(`    ... ${drift.length - 10} more (dfc validate --json)`);
  if (r.skipped_checks.length)
    lines.push(`  skipped checks      ${r.skipped_checks.length} (${r.skipped_checks[0]!.reason}, ...)`);
  for (const w of r.warnings) lines.push(`warning: ${w.reason}\n  fix: ${w.fix}`);
  for (const x of r.problems) {
    const count = x.count !== undefined ? ` — ${x.count} row(s) in ${x.table}` : '';
    const samples = x.samples?.length
      ? `\n  sample keys: ${x.samples.map((s) => JSON.stringify(s)).join(' ')}`
      : '';
    lines.push(`problem ${x.issue ?? x.code}: ${x.reason}${count}${samples}\n  fix: ${x.fix}`);
  }
  lines.push(`ready_for_consolidation: ${r.ready_for_consolidation}`);
  return lines.join('\n');
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'guide step 1: check that the database can be consolidated (read-only; exit 1 with CONSOLIDATION_01 if not)',
    )
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const report = await validateDatabase(target.url);
        emit(opts, { event: 'validate.report', ...report }, () => renderReport(report));
        if (!report.ready_for_consolidation) throw notReadyError(report);
        return 0;
      }),
    );
}
