/**
 * `dfc emergency respond | health | rollback | dashboard` and `dfc contacts add | list | remove`.
 * The decisions and actions live in SQL (db/bookkeeping/0011: safety.execute_emergency_response,
 * emergency_health, initiate_emergency_rollback), so a DBA in psql gets the same behaviour; this
 * module adds what SQL cannot do — notifications (src/safety/notify.ts).
 *
 * @example
 *   await respond(url, { type: 'connection_exhaustion', severity: 'critical', description: 'pool leak', auto: true,
 *                        params: { idle_seconds: 60 } });
 *   // SELECT safety.execute_emergency_response($1, $2, $3, $4, $5)  then webhook/command deliveries
 */
import { ensureBookkeeping } from '../bookkeeping.js';
import { connect } from '../db/connection.js';
import { DfcError, sqlstate } from '../errors.js';
import { type NotifyOptions, type NotifyResult, notifyIncident } from './notify.js';

async function withSafety<T>(url: string, fn: (c: import('pg').Client) => Promise<T>): Promise<T> {
  const c = await connect(url, 'dfc-emergency');
  try {
    await ensureBookkeeping(c);
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export interface HealthCondition {
  type: 'connection_exhaustion' | 'lock_pileup' | 'runaway_query' | 'critical_failure';
  severity: string;
  detected: boolean;
  value: Record<string, unknown>;
  threshold: Record<string, unknown>;
}

export interface HealthReport {
  checked_at: string;
  database: string;
  healthy: boolean;
  conditions: HealthCondition[];
}

/** Thresholds understood by health and respond (all optional; defaults in the SQL). */
export interface EmergencyParams {
  idle_seconds?: number;
  max_idle_sessions?: number;
  connection_ratio?: number;
  max_lock_waiters?: number;
  lock_wait_seconds?: number;
  max_query_seconds?: number;
}

/** `dfc emergency health`: safety.emergency_health(params). */
export async function emergencyHealth(url: string, params: EmergencyParams = {}): Promise<HealthReport> {
  return withSafety(url, async (c) => {
    const r = await c.query<{ h: HealthReport }>('SELECT safety.emergency_health($1) AS h', [
      JSON.stringify(params),
    ]);
    return r.rows[0]!.h;
  });
}

export interface RespondOptions {
  type: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  description: string;
  auto?: boolean;
  params?: EmergencyParams;
  notify?: NotifyOptions | false;
}

export interface RespondResult {
  incident_id: number;
  incident_type: string;
  severity: string;
  response_status: string;
  procedure: string | null;
  automated_action: string | null;
  auto: boolean;
  actions_taken: { action: string; pid?: number; done?: boolean; [k: string]: unknown }[];
  steps: { step: number; action: string }[];
  note: string | null;
  notifications: NotifyResult | null;
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'];

/** `dfc emergency respond`: log the incident, run the registered procedure's action, notify. */
export async function respond(url: string, o: RespondOptions): Promise<RespondResult> {
  if (!SEVERITIES.includes(o.severity))
    throw new DfcError('DFC_CONFIG', `unknown severity "${o.severity}"`, {
      fix: 'use low, medium, high or critical',
    });
  if (!o.description.trim())
    throw new DfcError('DFC_CONFIG', 'an incident needs a --description', { fix: 'say what is happening' });
  const r = await withSafety(url, async (c) => {
    const q = await c
      .query<{ r: Omit<RespondResult, 'notifications'> }>(
        'SELECT safety.execute_emergency_response($1, $2, $3, $4, $5) AS r',
        [o.type, o.severity, o.description, Boolean(o.auto), JSON.stringify(o.params ?? {})],
      )
      .catch((e) => {
        if (sqlstate(e) === '42501')
          throw new DfcError('DFC_PRIVILEGE', `emergency action not permitted: ${(e as Error).message}`, {
            fix: 'run as a superuser or a role with pg_signal_backend',
            cause: e,
          });
        throw e;
      });
    return q.rows[0]!.r;
  });
  const notifications =
    o.notify === false ? null : await notifyIncident(url, Number(r.incident_id), o.notify);
  return { ...r, incident_id: Number(r.incident_id), notifications };
}

export interface EmergencyRollbackResult {
  incident_id: number;
  rollback_point: string | null;
  forced: boolean;
  requested_by: string;
  command: string;
  note: string;
  notifications: NotifyResult | null;
}

/** `dfc emergency rollback --reason TEXT [--force]`: safety.initiate_emergency_rollback(); a missing point is CONSOLIDATION_05. */
export async function initiateEmergencyRollback(
  url: string,
  reason: string,
  opts: { force?: boolean; notify?: NotifyOptions | false } = {},
): Promise<EmergencyRollbackResult> {
  const r = await withSafety(url, async (c) => {
    const q = await c
      .query<{ r: Omit<EmergencyRollbackResult, 'notifications'> }>(
        'SELECT safety.initiate_emergency_rollback($1, $2) AS r',
        [reason, Boolean(opts.force)],
      )
      .catch((e) => {
        if (sqlstate(e) === 'P0005')
          throw new DfcError('CONSOLIDATION_05', 'no valid rollback point: nothing was changed', {
            fix: 'dfc rollback list shows the points; --force only when you know the legacy copy is complete',
            cause: e,
          });
        if (sqlstate(e) === '22023')
          throw new DfcError('DFC_CONFIG', (e as Error).message, { fix: 'pass --reason TEXT', cause: e });
        throw e;
      });
    return q.rows[0]!.r;
  });
  const notifications =
    opts.notify === false ? null : await notifyIncident(url, Number(r.incident_id), opts.notify);
  return { ...r, incident_id: Number(r.incident_id), notifications };
}

/** The guide's `SELECT * FROM safety.emergency_dashboard ORDER BY incident_timestamp DESC LIMIT n`. */
export async function emergencyDashboard(url: string, limit = 10): Promise<Record<string, unknown>[]> {
  return withSafety(url, async (c) => {
    const r = await c.query(
      'SELECT * FROM safety.emergency_dashboard ORDER BY incident_timestamp DESC, incident_id DESC LIMIT $1',
      [limit],
    );
    return r.rows;
  });
}

export interface Contact {
  id: number;
  contact_name: string;
  contact_role: string;
  contact_method: string;
  contact_details: string;
  escalation_level: number;
  is_active: boolean;
  notes: string | null;
}

const METHODS = ['email', 'phone', 'sms', 'slack', 'pagerduty', 'other', 'webhook', 'command'];

/** `dfc contacts add`. A webhook must be an http(s) URL. */
export async function addContact(
  url: string,
  k: { name: string; role: string; method: string; details: string; level?: number; notes?: string },
): Promise<Contact> {
  if (!METHODS.includes(k.method))
    throw new DfcError('DFC_CONFIG', `unknown contact method "${k.method}"`, {
      fix: `use one of ${METHODS.join(', ')}`,
    });
  const level = k.level ?? 1;
  if (!Number.isInteger(level) || level < 1 || level > 5)
    throw new DfcError('DFC_CONFIG', `escalation level must be 1-5, got ${k.level}`, {
      fix: 'pass --level 1 (first called) to 5',
    });
  if (k.method === 'webhook' && !/^https?:\/\//.test(k.details))
    throw new DfcError('DFC_CONFIG', 'a webhook contact needs an http:// or https:// URL', {
      fix: 'pass --details https://...',
    });
  return withSafety(url, async (c) => {
    const r = await c.query<Contact>(
      `INSERT INTO safety.emergency_contacts (contact_name, contact_role, contact_method, contact_details, escalation_level, notes)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [k.name, k.role, k.method, k.details, level, k.notes ?? null],
    );
    return { ...r.rows[0]!, id: Number(r.rows[0]!.id) };
  });
}

export async function listContacts(url: string): Promise<Contact[]> {
  return withSafety(url, async (c) => {
    const r = await c.query<Contact>('SELECT * FROM safety.emergency_contacts ORDER BY escalation_level, id');
    return r.rows.map((x) => ({ ...x, id: Number(x.id) }));
  });
}

/** `dfc contacts remove ID`: deleted (its past deliveries keep their rows). */
export async function removeContact(url: string, id: number): Promise<boolean> {
  return withSafety(url, async (c) => {
    const r = await c.query('DELETE FROM safety.emergency_contacts WHERE id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  });
}

/** A webhook URL shown without its query string or credentials (tokens often live there). */
export function redactTarget(method: string, details: string): string {
  if (method !== 'webhook') return details;
  try {
    const u = new URL(details);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
