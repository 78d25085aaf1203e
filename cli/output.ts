/**
 * How the CLI speaks: human lines on a TTY, JSON lines with --json. Errors are one block with
 * code, message and fix (never a stack trace unless DFC_DEBUG is set); no secrets are printed.
 */
import { toDfcError } from '../src/index.js';

export interface OutputOptions {
  json?: boolean;
}

export function emit(
  opts: OutputOptions,
  event: Record<string, unknown>,
  human: string | (() => string),
): void {
  if (opts.json) process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), ...event })}\n`);
  else process.stdout.write(`${typeof human === 'function' ? human() : human}\n`);
}

export function renderError(err: unknown, json: boolean): void {
  const e = toDfcError(err);
  if (json) {
    process.stdout.write(`${JSON.stringify(e.toJSON())}\n`);
  } else {
    const lines = [`error ${e.code}: ${e.message}`];
    if (e.server?.sqlstate)
      lines.push(`  server: SQLSTATE ${e.server.sqlstate}${e.server.detail ? ` — ${e.server.detail}` : ''}`);
    if (e.server?.hint) lines.push(`  hint: ${e.server.hint}`);
    lines.push(`  fix: ${e.fix}`);
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  if (process.env.DFC_DEBUG) console.error(err);
}
