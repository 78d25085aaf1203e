/**
 * `dfc report --html FILE`: one self-contained page (inline CSS and SVG, no script, no network)
 * from what the bookkeeping recorded: the phase timeline, per-table backfill throughput, metrics
 * over time with cutover and rollback marked, the latest benchmark comparison per query, validation
 * results, rollback points and backups. Each section is present even when its table is empty or
 * missing (it then says so), so a reader knows nothing was silently left out.
 */
import { writeFile } from 'node:fs/promises';
import type pg from 'pg';
import { withClient } from '../db/connection.js';
import { barChart, esc, lineChart, timeline } from './svg.js';

type Row = Record<string, unknown>;

async function rows(
  c: pg.ClientBase,
  needs: string,
  text: string,
  params: unknown[] = [],
): Promise<Row[] | null> {
  const r = await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [needs]);
  if (!r.rows[0]?.ok) return null;
  return (await c.query<Row>(text, params)).rows;
}

const ms = (v: unknown) => new Date(v as string).getTime();
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function table(rs: Row[], cols: string[]): string {
  return `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rs
    .map(
      (r) =>
        `<tr>${cols.map((c) => `<td>${esc(r[c] instanceof Date ? (r[c] as Date).toISOString() : typeof r[c] === 'object' && r[c] !== null ? JSON.stringify(r[c]) : r[c])}</td>`).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

const section = (id: string, title: string, body: string) =>
  `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
const none = (what: string) => `<p class="none">${esc(what)}</p>`;

export interface ReportSummary {
  file: string;
  sections: Record<string, number>;
}

export async function buildReport(url: string): Promise<{ html: string; sections: Record<string, number> }> {
  return withClient(url, async (c) => {
    const counts: Record<string, number> = {};
    const parts: string[] = [];
    const db = (await c.query<{ d: string; v: string }>('SELECT current_database() AS d, version() AS v'))
      .rows[0]!;

    const ops = await rows(
      c,
      'monitoring.migration_operations',
      `SELECT operation_timestamp, migration_phase, operation_type, operation_target, operation_status, duration_seconds, rows_affected
         FROM monitoring.migration_operations ORDER BY operation_timestamp, id LIMIT 2000`,
    );
    counts.timeline = ops?.length ?? 0;
    parts.push(
      section(
        'timeline',
        'Phase timeline',
        ops?.length
          ? timeline(
              ops.map((o) => {
                const end = ms(o.operation_timestamp);
                return {
                  phase: String(o.migration_phase),
                  label: `${o.operation_type} ${o.operation_target}: ${o.operation_status} ${o.duration_seconds ?? '?'} s`,
                  start: end - 1000 * (num(o.duration_seconds) ?? 0),
                  end,
                  failed: o.operation_status === 'failed',
                };
              }),
            ) +
              table(ops.slice(-30), [
                'operation_timestamp',
                'migration_phase',
                'operation_type',
                'operation_target',
                'operation_status',
                'duration_seconds',
              ])
          : none('no operations recorded (monitoring.migration_operations is empty)'),
      ),
    );

    const tp = await rows(
      c,
      'consolidation.engine_tables',
      `SELECT t.table_name, t.rows_copied,
              round((t.rows_copied / greatest(extract(epoch FROM t.updated_at - r.started_at), 0.001))::numeric, 1) AS rows_per_second
         FROM consolidation.engine_tables t JOIN consolidation.engine_runs r USING (run_id)
        WHERE t.run_id = (SELECT max(run_id) FROM consolidation.engine_runs) ORDER BY t.rows_copied DESC`,
    );
    counts.throughput = tp?.length ?? 0;
    parts.push(
      section(
        'throughput',
        'Backfill throughput per table (latest run)',
        tp?.length
          ? `${barChart(
              "rows per second (rows copied ÷ time from run start to the table's last batch)",
              ['rows/s'],
              tp.map((r) => ({ label: String(r.table_name), values: [num(r.rows_per_second)] })),
            )}${table(tp, ['table_name', 'rows_copied', 'rows_per_second'])}`
          : none('no consolidation run recorded'),
      ),
    );

    const met = await rows(
      c,
      'monitoring.system_metrics',
      `SELECT metric_timestamp, active_connections, waiting_locks, longest_lock_wait_seconds, capture_backlog,
              buffer_cache_hit_ratio, consolidation_progress_pct
         FROM monitoring.system_metrics ORDER BY metric_timestamp DESC LIMIT 2000`,
    );
    const marks =
      (await rows(
        c,
        'consolidation.engine_runs',
        `SELECT cutover_at AS t, 'cutover' AS label FROM consolidation.engine_runs WHERE cutover_at IS NOT NULL
         UNION ALL SELECT updated_at, 'rollback' FROM consolidation.engine_runs WHERE state = 'rolled_back'`,
      )) ?? [];
    counts.metrics = met?.length ?? 0;
    const series = (k: string, name: string) => ({
      name,
      points: (met ?? [])
        .filter((m) => m[k] !== null)
        .map((m) => ({ t: ms(m.metric_timestamp), v: Number(m[k]) }))
        .reverse(),
    });
    const markers = marks.map((m) => ({ t: ms(m.t), label: String(m.label) }));
    parts.push(
      section(
        'metrics',
        'Metrics over time',
        met?.length
          ? lineChart(
              'connections and lock waits',
              [
                series('active_connections', 'active connections'),
                series('waiting_locks', 'waiting locks'),
                series('longest_lock_wait_seconds', 'longest lock wait s'),
              ],
              markers,
            ) + lineChart('capture backlog (rows)', [series('capture_backlog', 'capture backlog')], markers)
          : none('no samples in monitoring.system_metrics (run dfc monitor start during the migration)'),
      ),
    );

    const cmp = await rows(
      c,
      'benchmarks.performance_comparisons',
      `SELECT value->>'test_name' AS test_name, (value->>'pre_consolidation_ms')::numeric AS pre_ms,
              (value->>'post_consolidation_ms')::numeric AS post_ms, value->>'ratio' AS ratio,
              value->>'performance_status' AS status, p.overall_improvement_percentage
         FROM (SELECT * FROM benchmarks.performance_comparisons ORDER BY created_at DESC LIMIT 1) p,
              jsonb_array_elements(p.comparison_results->'test_comparisons') ORDER BY 1`,
    );
    counts.benchmarks = cmp?.length ?? 0;
    parts.push(
      section(
        'benchmarks',
        'Benchmark: before and after, per query (median ms)',
        cmp?.length
          ? `<p>overall improvement ${esc(cmp[0]!.overall_improvement_percentage)} %</p>${barChart(
              'median ms',
              ['before', 'after'],
              cmp.map((r) => ({ label: String(r.test_name), values: [num(r.pre_ms), num(r.post_ms)] })),
            )}${table(cmp, ['test_name', 'pre_ms', 'post_ms', 'ratio', 'status'])}`
          : none('no comparison stored (dfc benchmark compare A B)'),
      ),
    );

    const val =
      (await rows(
        c,
        'monitoring.migration_operations',
        `SELECT operation_timestamp, operation_type, operation_target, operation_status, error_message
           FROM monitoring.migration_operations WHERE operation_type ~* 'valid|verif|check' ORDER BY operation_timestamp DESC LIMIT 100`,
      )) ?? [];
    const integ =
      (await rows(
        c,
        'safety.integrity_monitoring',
        'SELECT check_name, severity, last_run_at, last_violation_count, last_error FROM safety.integrity_monitoring ORDER BY check_name',
      )) ?? [];
    counts.validation = val.length + integ.length;
    parts.push(
      section(
        'validation',
        'Validation results',
        (val.length
          ? table(val, [
              'operation_timestamp',
              'operation_type',
              'operation_target',
              'operation_status',
              'error_message',
            ])
          : none('no validation operations recorded')) +
          (integ.length
            ? table(integ, ['check_name', 'severity', 'last_run_at', 'last_violation_count', 'last_error'])
            : none('no integrity checks registered')),
      ),
    );

    const rp = await rows(
      c,
      'consolidation.rollback_points',
      'SELECT rollback_point_id, created_at, state, schemas, expires_at FROM consolidation.rollback_points ORDER BY created_at DESC',
    );
    const bk = await rows(
      c,
      'safety.backup_registry',
      'SELECT backup_id, backup_type, created_at, location, size_bytes, status, verified_at FROM safety.backup_registry ORDER BY created_at DESC',
    );
    // the engine's rollback copy (legacy tables kept after cutover), whether or not a point was registered
    const copy = (
      await c.query<Row>(
        `SELECT n.nspname AS schema, count(cl.oid) AS tables, pg_size_pretty(coalesce(sum(pg_total_relation_size(cl.oid)), 0)::bigint) AS size
           FROM pg_namespace n LEFT JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relkind = 'r'
          WHERE n.nspname LIKE 'dfc\\_rollback\\_%' GROUP BY 1 ORDER BY 1`,
      )
    ).rows;
    counts.recovery = (rp?.length ?? 0) + (bk?.length ?? 0) + copy.length;
    parts.push(
      section(
        'recovery',
        'Rollback points and backups',
        (copy.length ? table(copy, ['schema', 'tables', 'size']) : none('no rollback copy schemas')) +
          (rp?.length
            ? table(rp, ['rollback_point_id', 'created_at', 'state', 'schemas', 'expires_at'])
            : none('no rollback points')) +
          (bk?.length
            ? table(bk, [
                'backup_id',
                'backup_type',
                'created_at',
                'location',
                'size_bytes',
                'status',
                'verified_at',
              ])
            : none('no backups registered')),
      ),
    );

    const css = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:900px}h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}th{background:#f4f4f4}
.chart{display:block;margin:8px 0}.chart .t{font-weight:600;font-size:13px}.chart .l{font-size:11px}.chart .v{font-size:10px;fill:#555}.axis{stroke:#999}.none{color:#888;font-style:italic}`;
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dfc consolidation report — ${esc(db.d)}</title><style>${css}</style></head><body>
<h1>DomainFlow consolidation report — ${esc(db.d)}</h1><p class="meta">generated ${esc(new Date().toISOString())}; ${esc(db.v.split(' on ')[0])}</p>
${parts.join('\n')}</body></html>`;
    return { html, sections: counts };
  });
}

export async function writeHtmlReport(url: string, file: string): Promise<ReportSummary> {
  const { html, sections } = await buildReport(url);
  await writeFile(file, html);
  return { file, sections };
}
