/** Run `dfc` as a user would (a child process), with a controlled environment. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/dfc.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for "never shows X" assertions */
  all: string;
}

/** `env` replaces the connection variables (DATABASE_URL and PG* are cleared unless given). */
export async function dfc(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('PG')),
  );
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout: 600_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr, all: x.stdout + x.stderr };
  }
}

/** The last JSON line of stdout. */
export const lastJson = (out: string) =>
  JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
