/** Renders engine events: a progress bar per table on a TTY, plain lines otherwise, JSON lines with --json. */
import cliProgress from 'cli-progress';
import type { EngineEvent } from '../src/index.js';
import { blockerAction } from './carry-render.js';

/** lock waits, capture backlog, progress and sessions of one monitoring sample, in one short line */
export function sampleLine(e: Extract<EngineEvent, { type: 'sample' }>): string {
  const parts = [`lock waits ${e.waitingLocks ?? '?'}`];
  if (e.longestLockWaitSeconds) parts[0] += ` (longest ${e.longestLockWaitSeconds} s)`;
  parts.push(`capture backlog ${e.captureBacklog ?? '?'}`);
  if (e.progressPct !== null) parts.push(`${e.progressPct}% copied`);
  parts.push(`${e.activeConnections ?? '?'} active sessions`);
  return parts.join(', ');
}

export function engineRenderer(json: boolean): { onEvent: (e: EngineEvent) => void; stop: () => void } {
  if (json) {
    return {
      onEvent: (e) => process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), ...e })}\n`),
      stop: () => {},
    };
  }
  const tty = Boolean(process.stdout.isTTY);
  // one bar per table being copied: tables are copied side by side on the run's lanes
  let bars: cliProgress.MultiBar | undefined;
  const barOf = new Map<string, cliProgress.SingleBar>();
  let lastLine = 0;
  let health = ''; // the latest monitoring sample, shown beside the progress bars
  const stopBars = () => {
    bars?.stop();
    bars = undefined;
    barOf.clear();
  };
  // while bars are drawn, a line goes above them (MultiBar.log) instead of through them
  const write = (line: string) => (bars ? bars.log(line) : process.stdout.write(line));
  return {
    onEvent: (e) => {
      if (e.type === 'progress') {
        if (tty) {
          bars ??= new cliProgress.MultiBar(
            {
              format: '{table} {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}{health}',
              etaBuffer: 20,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          let bar = barOf.get(e.table);
          if (!bar) {
            bar = bars.create(e.total, e.done, { table: e.table.padEnd(40), rate: e.rowsPerSecond, health });
            barOf.set(e.table, bar);
          }
          bar.setTotal(e.total);
          bar.update(e.done, { rate: e.rowsPerSecond, health });
        } else if (Date.now() - lastLine > 2000 || e.done >= e.total) {
          lastLine = Date.now();
          process.stdout.write(
            `  ${e.table}: ${e.done}/${e.total} rows, ${e.rowsPerSecond} rows/s${e.etaSeconds !== null ? `, ETA ${Math.round(e.etaSeconds)} s` : ''}\n`,
          );
        }
        return;
      }
      if (e.type === 'sample') {
        health = ` | ${sampleLine(e)}`;
        for (const a of e.alerts) write(`  ! alert: ${a}\n`);
        if (bars) for (const bar of barOf.values()) bar.update({ health });
        else process.stdout.write(`  ◦ ${e.phase}: ${sampleLine(e)}\n`);
        return;
      }
      if (e.type === 'phase') {
        stopBars();
        process.stdout.write(`== ${e.message}\n`);
      } else if (e.type === 'step' && e.status === 'done')
        write(`  ✓ ${e.step} (${e.seconds?.toFixed(2)} s)\n`);
      else if (e.type === 'step' && e.status === 'skipped') write(`  · ${e.step} (already done)\n`);
      else if (e.type === 'throttle') write(`  … throttled: ${e.reason}\n`);
      else if (e.type === 'retry')
        write(`  … ${e.what}: lock busy, attempt ${e.attempt}, retry in ${e.waitMs} ms\n`);
      else if (e.type === 'warning') write(`  ! ${e.message}\n`);
      else if (e.type === 'blocker')
        write(
          `  ! ${blockerAction(e)} session pid ${e.pid} blocking the locks (${e.user ?? '?'}, ${e.application}): ${e.query}\n`,
        );
    },
    stop: stopBars,
  };
}
