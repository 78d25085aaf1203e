/**
 * Alerts sent, not only recorded. After a sample, the alerts worth notifying (critical; warnings
 * too with `notify: 'warning'`) are linked to incidents by monitoring.alert_incidents (db/bookkeeping
 * 0015: one open incident per metric per interval), and each new incident goes to the emergency
 * contacts' channels through notifyIncident (every attempt in safety.notification_deliveries). An
 * alert that joins an incident already notified sends nothing — unless some contact never got it
 * (its channel failed, or it was added since): those are tried again, so a failure is never dropped.
 *
 * @example
 *   const n = await notifyAlerts(url, sample.systemMetricId, { notify: 'critical', intervalSeconds: 900 });
 *   // SELECT monitoring.alert_incidents($1, 'critical', 900);  then notifyIncident(url, id) per new incident
 */
import { withClient } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { type NotifyOptions, type NotifyResult, notifyIncident } from '../safety/notify.js';

export type NotifyLevel = 'critical' | 'warning' | 'off';

export interface AlertNotifyOptions {
  /** which alerts are sent: critical (default), warning (and critical), off */
  notify?: NotifyLevel;
  /** one notification per metric per this many seconds (default 900) */
  intervalSeconds?: number;
  /** attempts, backoff and timeout per contact (notifyIncident's) */
  delivery?: Omit<NotifyOptions, 'skipDelivered'>;
}

export interface AlertNotification {
  incident_id: number;
  metric: string;
  severity: 'warning' | 'critical';
  /** true: this alert opened the incident; false: it joined one opened within the interval */
  new: boolean;
  /** what was sent now (for a joined incident: only contacts that had not received it) */
  result: NotifyResult;
}

export function checkNotifyOptions(o: AlertNotifyOptions): void {
  if (o.notify !== undefined && !['critical', 'warning', 'off'].includes(o.notify))
    throw new DfcError('DFC_CONFIG', `--notify must be critical, warning or off, got "${o.notify}"`, {
      fix: 'e.g. --notify warning to send warnings too',
    });
  if (o.intervalSeconds !== undefined && !(o.intervalSeconds > 0))
    throw new DfcError(
      'DFC_CONFIG',
      `--notify-interval must be a positive number of seconds, got ${o.intervalSeconds}`,
      {
        fix: 'e.g. --notify-interval 900',
      },
    );
}

/** Link the sample's alerts to incidents and notify; returns one entry per incident touched. */
export async function notifyAlerts(
  url: string,
  systemMetricId: string,
  o: AlertNotifyOptions = {},
): Promise<AlertNotification[]> {
  checkNotifyOptions(o);
  const level = o.notify ?? 'critical';
  if (level === 'off') return [];
  const linked = await withClient(
    url,
    async (c) =>
      (
        await c.query<{
          r: { incident_id: number; metric: string; severity: 'warning' | 'critical'; new: boolean }[];
        }>('SELECT monitoring.alert_incidents($1, $2, $3) AS r', [
          systemMetricId,
          level,
          o.intervalSeconds ?? 900,
        ])
      ).rows[0]!.r,
    'dfc-monitor',
  );
  const out: AlertNotification[] = [];
  for (const a of linked) {
    const result = await notifyIncident(url, Number(a.incident_id), {
      ...o.delivery,
      skipDelivered: !a.new,
    });
    out.push({
      incident_id: Number(a.incident_id),
      metric: a.metric,
      severity: a.severity,
      new: a.new,
      result,
    });
  }
  return out;
}
