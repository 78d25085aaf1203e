/** Text lines for what cutover carried, quarantined rows, column type changes and ended sessions. */
import type { CutoverResult } from '../src/engine/cutover.js';
import type { QuarantineReport } from '../src/engine/late-rows.js';
import type { TypeChange } from '../src/engine/sessions.js';

export function quarantineLines(q: QuarantineReport | null | undefined): string[] {
  if (!q || q.total === 0) return [];
  return [
    `${q.total} quarantined row(s) (originals in consolidation.engine_quarantine):`,
    ...q.rows.slice(0, 50).map((r) => `  ${r.table} ${JSON.stringify(r.key)}: ${r.issue} (${r.action})`),
    ...(q.rows.length > 50 ? [`  … ${q.rows.length - 50} more (all in --json)`] : []),
    ...q.tables.map(
      (t) =>
        `  ${t.table}: legacy ${t.legacyRows} = v2 ${t.v2Rows} + kept out ${t.keptOut}${t.reconciles ? '' : '  ✗ does not reconcile'}; ${t.nulled} with a column nulled`,
    ),
  ];
}

export function typeChangeLines(changes: TypeChange[], resetUsed: boolean): string[] {
  if (changes.length === 0) return [];
  return [
    `column types that change: ${changes.map((t) => `${t.table.replace(/^public\./, '')}.${t.column} ${t.legacy}→${t.v2}`).join(', ')}`,
    resetUsed
      ? '  application sessions were reset so statements are prepared afresh against v2'
      : '  clients that cache prepared statements (pgx, JDBC, node-postgres named statements) fail on these until they reconnect: use `dfc cutover --reset-app-sessions`',
  ];
}

/** What --cancel-blockers-after did to one blocking session, in words. */
export function blockerAction(b: {
  action: 'cancelled' | 'terminated' | 'skipped';
  reason?: string;
}): string {
  if (b.action === 'skipped') return `left alone (${b.reason})`;
  return b.reason ? `${b.action} (${b.reason})` : b.action;
}

export function cutoverLines(r: CutoverResult): string[] {
  const carried = r.carried.carried.map((x) => `${x.kind} ${x.name}`);
  return [
    `carried to v2: owners and ${r.carried.grants} grant(s) on ${r.carried.relations} relations; privileges, RLS and policies identical for every role${carried.length ? `; also ${carried.join(', ')}` : ''}`,
    ...quarantineLines(r.quarantine),
    ...typeChangeLines(r.typeChanges, Boolean(r.sessions)),
    ...r.blockers.map(
      (b) =>
        `${blockerAction(b)} blocking session pid ${b.pid} (${b.user ?? '?'}, ${b.application || 'no application_name'}, ${b.state ?? '?'}): ${b.query}${b.action !== 'skipped' && !b.ok ? ` [pg_${b.action === 'cancelled' ? 'cancel' : 'terminate'}_backend returned false]` : ''}`,
    ),
    ...(r.sessions
      ? [
          `ended application sessions: ${r.sessions.endedQueued} queued behind the cutover locks, ${r.sessions.ended} idle at once, ${r.sessions.endedWhenIdle} when their statement finished, ${r.sessions.endedAtDeadline} still busy at the deadline`,
        ]
      : []),
  ];
}
