/**
 * The application's longest write during a locked phase (cutover, rollback), told apart from ops
 * that are slow by themselves: on legacy at 1,000,000 domains a campaign delete cascading through
 * its generated domains takes 1–2 s at any time. An op whose slowest write in the phase is no
 * slower than its slowest before it is slow by itself; the stall the locks can have caused is the
 * slowest write of the other ops. Both are printed, the op named.
 */
import type { TrafficReport } from '../workload/traffic.js';

export interface PhaseStall {
  /** the slowest write in the phase and its op */
  longest: { op: string; ms: number } | null;
  /** that op's slowest write before the phase */
  longestBefore: number;
  /** the slowest write of an op that was slower in the phase than ever before it */
  stall: { op: string; ms: number } | null;
}

export function phaseStall(report: TrafficReport, phase: string, before: string[]): PhaseStall {
  const during = Object.entries(report.perPhase[phase]?.writeMaxByOp ?? {}).sort((a, b) => b[1] - a[1]);
  const beforeMax = (op: string) =>
    Math.max(0, ...before.map((p) => report.perPhase[p]?.writeMaxByOp[op] ?? 0));
  const top = during[0];
  const beyond = during.find(([op, ms]) => ms > beforeMax(op));
  return {
    longest: top ? { op: top[0], ms: top[1] } : null,
    longestBefore: top ? beforeMax(top[0]) : 0,
    stall: beyond ? { op: beyond[0], ms: beyond[1] } : null,
  };
}

/** Two lines for a bench's output: the longest write, and the longest beyond its op's own range (× the lock timeout). */
export function describeStall(s: PhaseStall, timeoutMs: number, what: string): string[] {
  const ratio = (ms: number) => `${(ms / timeoutMs).toFixed(2)}× the lock timeout`;
  return [
    `longest application write during ${what}: ${s.longest ? `${s.longest.ms.toFixed(1)} ms (${s.longest.op}; ${ratio(s.longest.ms)}; its slowest before: ${s.longestBefore.toFixed(1)} ms)` : 'none'}`,
    `longest write slower than its op ever was before (the stall; goal ≤ 1.5×): ${s.stall ? `${s.stall.ms.toFixed(1)} ms (${s.stall.op}; ${ratio(s.stall.ms)})` : 'none'}`,
  ];
}
