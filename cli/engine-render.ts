/** Renders engine events: a progress bar per table on a TTY, plain lines otherwise, JSON lines with --json. */
import cliProgress from 'cli-progress';
import type { EngineEvent } from '../src/index.js';

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
  let bar: cliProgress.SingleBar | undefined;
  let barTable = '';
  let lastLine = 0;
  let health = ''; // the latest monitoring sample, shown beside the progress bar
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onEvent: (e) => {
      if (e.type === 'progress') {
        if (tty) {
          if (barTable !== e.table) {
            stopBar();
            barTable = e.table;
            bar = new cliProgress.SingleBar(
              {
                format: `${e.table.padEnd(40)} {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}{health}`,
                etaBuffer: 20,
              },
              cliProgress.Presets.shades_classic,
            );
            bar.start(e.total, e.done, { rate: e.rowsPerSecond, health });
          }
          bar?.setTotal(e.total);
          bar?.update(e.done, { rate: e.rowsPerSecond, health });
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
        for (const a of e.alerts) process.stdout.write(`${bar ? '\n' : ''}  ! alert: ${a}\n`);
        if (bar) bar.update({ health });
        else process.stdout.write(`  ◦ ${e.phase}: ${sampleLine(e)}\n`);
        return;
      }
      stopBar();
      barTable = '';
      if (e.type === 'phase') process.stdout.write(`== ${e.message}\n`);
      else if (e.type === 'step' && e.status === 'done')
        process.stdout.write(`  ✓ ${e.step} (${e.seconds?.toFixed(2)} s)\n`);
      else if (e.type === 'step' && e.status === 'skipped')
        process.stdout.write(`  · ${e.step} (already done)\n`);
      else if (e.type === 'throttle') process.stdout.write(`  … throttled: ${e.reason}\n`);
      else if (e.type === 'retry')
        process.stdout.write(`  … ${e.what}: lock busy, attempt ${e.attempt}, retry in ${e.waitMs} ms\n`);
      else if (e.type === 'warning') process.stdout.write(`  ! ${e.message}\n`);
      else if (e.type === 'blocker')
        process.stdout.write(
          `  ! ${e.action === 'cancelled' ? 'cancelled' : `left alone (${e.reason})`} session pid ${e.pid} blocking the locks (${e.user ?? '?'}, ${e.application}): ${e.query}\n`,
        );
    },
    stop: stopBar,
  };
}
