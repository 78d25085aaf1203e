/**
 * What a locked phase (cutover, rollback) costs the application, two ways:
 * - the longest write in the phase, its op named with that op's slowest write before the phase:
 *   on legacy at 1,000,000 domains a campaign delete cascading through its generated domains takes
 *   1–2 s at any time, so the longest write alone cannot tell a lock stall from a slow op;
 * - the stall: the longest an application session waited for a relation lock during the phase
 *   (workload/lock-waits.ts samples pg_stat_activity every 5 ms), the relation named.
 */
import type { LockWaitReport } from '../workload/lock-waits.js';
import type { TrafficReport } from '../workload/traffic.js';

export interface PhaseWrites {
  /** the slowest write in the phase and its op */
  longest: { op: string; ms: number } | null;
  /** that op's slowest write before the phase */
  longestBefore: number;
}

export function phaseWrites(report: TrafficReport, phase: string, before: string[]): PhaseWrites {
  const during = Object.entries(report.perPhase[phase]?.writeMaxByOp ?? {}).sort((a, b) => b[1] - a[1]);
  const top = during[0];
  const beforeMax = (op: string) =>
    Math.max(0, ...before.map((p) => report.perPhase[p]?.writeMaxByOp[op] ?? 0));
  return { longest: top ? { op: top[0], ms: top[1] } : null, longestBefore: top ? beforeMax(top[0]) : 0 };
}

/** The stall in ms (0 when no application session waited). */
export const stallMs = (w: LockWaitReport) => w.longest?.ms ?? 0;

/** Two lines for a bench's output. */
export function describeStall(
  w: PhaseWrites,
  waits: LockWaitReport,
  timeoutMs: number,
  what: string,
): string[] {
  const ratio = (ms: number) => `${(ms / timeoutMs).toFixed(2)}× the lock timeout`;
  return [
    `longest application write during ${what}: ${w.longest ? `${w.longest.ms.toFixed(1)} ms (${w.longest.op}; its slowest before: ${w.longestBefore.toFixed(1)} ms)` : 'none'}`,
    `the stall — longest application wait for a relation lock during ${what} (sampled every ${waits.intervalMs} ms, ${waits.samples} samples${waits.failedSamples ? `, ${waits.failedSamples} FAILED` : ''}, ${waits.waits} waits): ${waits.longest ? `${waits.longest.ms.toFixed(1)} ms on ${waits.longest.relation} (${ratio(waits.longest.ms)}; goal ≤ 1.5)` : 'none'}`,
  ];
}
