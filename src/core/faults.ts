/**
 * The one fault seam, for tests: crash before or after a step, hold still after a step (so a
 * test can SIGKILL the process at a known point), fail the cutover's validation. Passed through
 * the run context; production passes none. The CLI reads it from one documented variable,
 * DFC_FAULT, e.g. `DFC_FAULT=hold-after:shadow:create` or `DFC_FAULT=fail-validation`.
 */
import { DfcError } from '../errors.js';

export interface Faults {
  crashBefore?: string;
  crashAfter?: string;
  holdAfter?: string;
  /** hold still before a step (inside a locked group: after its beforeAttempt, before the step) */
  holdBefore?: string;
  /** how long a hold lasts (default 60 s: longer than any test waits to kill) */
  holdMs?: number;
  failValidation?: boolean;
  /**
   * tests only (no DFC_FAULT form): called when a hold starts, e.g. to commit a change in the window.
   * When it returns a promise the hold also lasts until that settles, so the change is in before the
   * run goes on however slow the machine is (return nothing when the change waits on the run's locks).
   */
  onHold?: (step: string) => unknown;
}

export const NO_FAULTS: Faults = {};

export class InjectedFault extends Error {}

export async function beforeStep(f: Faults, id: string): Promise<void> {
  if (f.crashBefore === id) throw new InjectedFault(`crashed before step ${id} (test hook)`);
  if (f.holdBefore === id) await hold(f, id);
}

async function hold(f: Faults, id: string): Promise<void> {
  const windowChange = f.onHold?.(id);
  await Promise.all([new Promise((r) => setTimeout(r, f.holdMs ?? 60_000)), windowChange]);
}

export async function afterStep(f: Faults, id: string): Promise<void> {
  if (f.crashAfter === id) throw new InjectedFault(`stopped after step ${id} (test hook)`);
  if (f.holdAfter === id) await hold(f, id);
}

/** Parse DFC_FAULT: `crash-before:<step>`, `crash-after:<step>`, `hold-after:<step>`, `fail-validation`. */
export function parseFaults(raw: string | undefined): Faults {
  if (!raw) return NO_FAULTS;
  if (raw === 'fail-validation') return { failValidation: true };
  const m = /^(crash-before|crash-after|hold-after):(.+)$/.exec(raw);
  if (!m)
    throw new DfcError('DFC_CONFIG', `DFC_FAULT is not a fault: ${JSON.stringify(raw)}`, {
      fix: 'unset DFC_FAULT (it is for tests), or use crash-before:<step>, crash-after:<step>, hold-after:<step> or fail-validation',
    });
  const key = m[1] === 'crash-before' ? 'crashBefore' : m[1] === 'crash-after' ? 'crashAfter' : 'holdAfter';
  return { [key]: m[2] };
}
