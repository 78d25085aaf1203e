/** `--no-monitor` / `--monitor-interval S` of the long commands, and the wrapper that samples during them. */
import { Option } from 'commander';
import { type EngineEvent, monitorDuring } from '../src/index.js';
import { whole } from './options.js';
import type { Opts } from './run.js';

/** add with `.addOption(noMonitor()).addOption(monitorInterval())` */
export const noMonitor = () =>
  new Option('--no-monitor', 'do not sample the server into monitoring.system_metrics while this runs');
export const monitorInterval = () =>
  new Option(
    '--monitor-interval <s>',
    'seconds between monitoring samples (one is also taken at the start and the end)',
  )
    .argParser(whole('--monitor-interval', { min: 1 }))
    .default(5);

export function monitored<T>(
  opts: Opts,
  url: string,
  phase: string,
  onEvent: (e: EngineEvent) => void,
  work: (onEvent: (e: EngineEvent) => void) => Promise<T>,
): Promise<T> {
  return monitorDuring(
    url,
    phase,
    { enabled: opts.monitor !== false, intervalMs: Number(opts.monitorInterval ?? 5) * 1000 },
    onEvent,
    work,
  );
}
