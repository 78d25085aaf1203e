/** The machine's load average (1, 5, 15 min), printed beside every figure the benches measure. */
import { loadavg } from 'node:os';

export const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
