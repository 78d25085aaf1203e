/** Renders engine events: a progress bar per table on a TTY, plain lines otherwise, JSON lines with --json. */
import cliProgress from 'cli-progress';
import type { EngineEvent } from '../src/index.js';

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
                format: `${e.table.padEnd(40)} {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
                etaBuffer: 20,
              },
              cliProgress.Presets.shades_classic,
            );
            bar.start(e.total, e.done, { rate: e.rowsPerSecond });
          }
          bar?.setTotal(e.total);
          bar?.update(e.done, { rate: e.rowsPerSecond });
        } else if (Date.now() - lastLine > 2000 || e.done >= e.total) {
          lastLine = Date.now();
          process.stdout.write(
            `  ${e.table}: ${e.done}/${e.total} rows, ${e.rowsPerSecond} rows/s${e.etaSeconds !== null ? `, ETA ${Math.round(e.etaSeconds)} s` : ''}\n`,
          );
        }
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
    },
    stop: stopBar,
  };
}
