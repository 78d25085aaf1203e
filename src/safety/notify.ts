/**
 * Incident notifications through pluggable channels. A contact in safety.emergency_contacts whose
 * method has a registered channel is delivered to automatically: `webhook` (details = URL, POSTed
 * the incident as JSON) and `command` (details = a shell command, given the incident as JSON on
 * stdin and DFC_INCIDENT_* variables). Each attempt — with its HTTP status or exit code — is a row
 * in safety.notification_deliveries; a failed attempt is retried with backoff. Other methods
 * (email, phone, ...) are listed for a human on the dashboard.
 *
 * @example
 *   registerChannel('slack', { send: async (target, incident) => ({ ok: true, response: '200' }) });
 *   await notifyIncident(url, 42, { attempts: 3, backoffMs: 500 });
 */
import { spawn } from 'node:child_process';
import type pg from 'pg';
import { connect } from '../db/connection.js';

export interface IncidentPayload {
  incident_id: number;
  incident_type: string;
  severity: string;
  description: string;
  response_status: string;
  procedure: string | null;
  actions_taken: unknown;
  incident_timestamp: string;
  database: string;
  /** a monitoring_alert incident: the alert that opened it */
  alert?: { metric: string; value: number; threshold: number; severity: string; alert_id: number };
}

export interface DeliveryOutcome {
  ok: boolean;
  /** HTTP status or exit code */
  response?: string;
  error?: string;
}

export interface NotificationChannel {
  send(target: string, incident: IncidentPayload, timeoutMs: number): Promise<DeliveryOutcome>;
}

const webhook: NotificationChannel = {
  async send(target, incident, timeoutMs) {
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'dfc-notify' },
        body: JSON.stringify(incident),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok
        ? { ok: true, response: String(res.status) }
        : { ok: false, response: String(res.status), error: `HTTP ${res.status} ${res.statusText}` };
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      return {
        ok: false,
        error: `${e instanceof Error ? e.message : String(e)}${cause ? ` (${cause})` : ''}`,
      };
    }
  },
};

const command: NotificationChannel = {
  send(target, incident, timeoutMs) {
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', target], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: {
          ...process.env,
          DFC_INCIDENT_ID: String(incident.incident_id),
          DFC_INCIDENT_TYPE: incident.incident_type,
          DFC_INCIDENT_SEVERITY: incident.severity,
          DFC_INCIDENT_DESCRIPTION: incident.description,
        },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-500);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ ok: false, error: e.message });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve(
          code === 0
            ? { ok: true, response: '0' }
            : {
                ok: false,
                response: code === null ? `signal ${signal}` : String(code),
                error: stderr.trim() || `exit ${code ?? signal}`,
              },
        );
      });
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(incident));
    });
  },
};

const CHANNELS = new Map<string, NotificationChannel>([
  ['webhook', webhook],
  ['command', command],
]);

/** Add (or replace) the channel for a contact method. */
export function registerChannel(method: string, channel: NotificationChannel): void {
  CHANNELS.set(method, channel);
}

export interface NotifyOptions {
  /** attempts per contact (default 3) */
  attempts?: number;
  /** first retry delay, doubled each time (default 500 ms) */
  backoffMs?: number;
  timeoutMs?: number;
  /** only contacts that have no delivered attempt for this incident yet (a retry after failures) */
  skipDelivered?: boolean;
}

export interface NotifyResult {
  incident_id: number;
  delivered: { contact_id: number; name: string; channel: string; attempts: number }[];
  failed: { contact_id: number; name: string; channel: string; attempts: number; error: string }[];
  /** contacts whose method has no channel: for a human to call */
  manual: { name: string; method: string; details: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function incidentPayload(
  c: pg.ClientBase,
  id: number,
): Promise<{ payload: IncidentPayload; level: number }> {
  const r = await c.query(
    `SELECT l.id, l.incident_type, l.severity_level, l.description, l.response_status, l.procedure_name,
            l.actions_taken, l.incident_timestamp, current_database() AS db,
            coalesce(p.notify_up_to_escalation_level, 1) AS level
       FROM safety.emergency_response_log l
       LEFT JOIN safety.emergency_procedures p ON p.procedure_name = l.procedure_name
      WHERE l.id = $1`,
    [id],
  );
  const x = r.rows[0];
  if (!x) throw new Error(`no incident ${id} in safety.emergency_response_log`);
  return {
    level: Number(x.level),
    payload: {
      incident_id: Number(x.id),
      incident_type: x.incident_type,
      severity: x.severity_level,
      description: x.description,
      response_status: x.response_status,
      procedure: x.procedure_name,
      actions_taken: x.actions_taken,
      incident_timestamp: new Date(x.incident_timestamp).toISOString(),
      database: x.db,
      ...(x.incident_type === 'monitoring_alert' && x.actions_taken?.[0]?.alert
        ? { alert: x.actions_taken[0].alert }
        : {}),
    },
  };
}

/** Notify every active contact up to the incident's escalation level; every attempt is logged. */
export async function notifyIncident(
  url: string,
  incidentId: number,
  opts: NotifyOptions = {},
): Promise<NotifyResult> {
  const attempts = opts.attempts ?? 3;
  const backoff = opts.backoffMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const c = await connect(url, 'dfc-notify');
  try {
    const { payload, level } = await incidentPayload(c, incidentId);
    const contacts = await c.query<{
      id: string;
      contact_name: string;
      contact_method: string;
      contact_details: string;
    }>(
      `SELECT k.id, k.contact_name, k.contact_method, k.contact_details FROM safety.emergency_contacts k
        WHERE k.is_active AND k.escalation_level <= $1
          AND NOT ($3 AND EXISTS (SELECT 1 FROM safety.notification_deliveries d
                                   WHERE d.incident_id = $2 AND d.contact_id = k.id AND d.status = 'delivered'))
        ORDER BY k.escalation_level, k.id`,
      [level, incidentId, opts.skipDelivered ?? false],
    );
    const out: NotifyResult = { incident_id: incidentId, delivered: [], failed: [], manual: [] };
    for (const k of contacts.rows) {
      const channel = CHANNELS.get(k.contact_method);
      if (!channel) {
        if (opts.skipDelivered) continue;
        out.manual.push({ name: k.contact_name, method: k.contact_method, details: k.contact_details });
        continue;
      }
      let last: DeliveryOutcome = { ok: false };
      let n = 0;
      for (n = 1; n <= attempts; n++) {
        const t0 = Date.now();
        last = await channel.send(k.contact_details, payload, timeoutMs);
        await c.query(
          `INSERT INTO safety.notification_deliveries (incident_id, contact_id, channel, attempt, status, response, error, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            incidentId,
            k.id,
            k.contact_method,
            n,
            last.ok ? 'delivered' : 'failed',
            last.response ?? null,
            last.error ?? null,
            Date.now() - t0,
          ],
        );
        if (last.ok) break;
        if (n < attempts) await sleep(backoff * 2 ** (n - 1));
      }
      const entry = {
        contact_id: Number(k.id),
        name: k.contact_name,
        channel: k.contact_method,
        attempts: Math.min(n, attempts),
      };
      if (last.ok) out.delivered.push(entry);
      else out.failed.push({ ...entry, error: last.error ?? 'failed' });
    }
    return out;
  } finally {
    await c.end().catch(() => {});
  }
}
