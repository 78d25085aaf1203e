/**
 * Sampling that runs by itself during a long command (consolidate, cutover, rollback): the same
 * sampler as `dfc monitor start`, on its own session, for as long as the command's work runs. Each
 * sample becomes a 'sample' event, so the terminal view and `--json` show lock waits, the capture
 * backlog and progress beside the engine's own events. Monitoring that cannot start is said loudly
 * (a warning event naming why) and the command goes on: a missing instrument must not be silent,
 * but it is no reason to hold back a consolidation the DBA started.
 */
import type { EngineEvent, EventSink } from '../engine/events.js';
import { type Sample, type Sampler, startSampler } from './monitor.js';

export interface MonitorDuringOptions {
  /** default true; --no-monitor turns it off */
  enabled?: boolean;
  /** default 5000 ms */
  intervalMs?: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The figures of a sample the live view shows. */
export function sampleEvent(phase: string, s: Sample): Extract<EngineEvent, { type: 'sample' }> {
  const m = s.metrics;
  return {
    type: 'sample',
    phase,
    activeConnections: num(m.active_connections),
    waitingLocks: num(m.waiting_locks),
    longestLockWaitSeconds: num(m.longest_lock_wait_seconds),
    captureBacklog: num(m.capture_backlog),
    progressPct: num(m.consolidation_progress_pct),
    alerts: s.alerts.map((a) => `${a.severity} ${a.metric}=${a.value} (threshold ${a.threshold})`),
  };
}

export async function monitorDuring<T>(
  url: string,
  phase: string,
  opts: MonitorDuringOptions,
  emit: EventSink,
  work: (emit: EventSink) => Promise<T>,
): Promise<T> {
  if (opts.enabled === false) return work(emit);
  const warn = (e: unknown) =>
    emit({ type: 'warning', message: `monitoring (${phase}) is not recording: ${(e as Error).message}` });
  // started by the work's first phase or step: a command that refuses (bad input, another run
  // holding the lock) has emitted neither, and must leave the database exactly as it was
  let sampler: Promise<Sampler | undefined> | undefined;
  const start = () =>
    startSampler(url, {
      name: phase,
      phase,
      intervalMs: opts.intervalMs ?? 5000,
      edges: true,
      onSample: (s) => emit(sampleEvent(phase, s)),
      onError: warn,
    }).catch((e) => {
      warn(e);
      return undefined;
    });
  try {
    return await work((e) => {
      if (!sampler && (e.type === 'phase' || e.type === 'step')) sampler = start();
      emit(e);
    });
  } finally {
    await (await sampler)?.stop();
  }
}
