/** Wraps a command body: global options in, rendered error and exit code out. */
import { DfcError } from '../src/index.js';
import { checkOptions } from './options.js';
import { renderError } from './output.js';

// biome-ignore lint/suspicious/noExplicitAny: commander hands options as a loose record
export type Opts = Record<string, any>;

/** The options of this command merged with the program's global ones (--json, --database-url). */
// biome-ignore lint/suspicious/noExplicitAny: commander's action signature
export function action(fn: (opts: Opts, ...args: any[]) => Promise<unknown>) {
  // biome-ignore lint/suspicious/noExplicitAny: commander's action signature
  return async (...args: any[]) => {
    const cmd = args[args.length - 1] as { optsWithGlobals: () => Opts };
    const opts = cmd.optsWithGlobals();
    const positional = args.slice(0, -2);
    try {
      checkOptions(opts); // a rejected number option: DFC_CONFIG before anything runs
      const code = await fn(opts, ...positional);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      renderError(err, Boolean(opts.json));
      process.exitCode = err instanceof DfcError && err.code === 'DFC_INTERNAL' ? 70 : 1;
    }
  };
}
