#!/usr/bin/env node
// Runs the CLI in this same process, so a signal sent to `dfc` reaches the process doing the work:
// the compiled JavaScript in dist/ (built by `npm install`'s prepare script; about 0.6 s less
// start-up than compiling on the fly) when it is newer than every TypeScript source, else the
// sources through tsx's in-process loader — a checkout being edited never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** the newest modification time of a .ts file under the directories the CLI is built from */
function newestSource() {
  let newest = 0;
  for (const dir of ['src', 'cli', 'embedded', 'workload']) {
    let entries;
    try {
      entries = readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true });
    } catch {
      return Number.POSITIVE_INFINITY; // a source directory cannot be read: do not trust dist/
    }
    for (const e of entries) {
      if (e.isFile() && e.name.endsWith('.ts')) {
        newest = Math.max(newest, statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
      }
    }
  }
  return newest;
}

const built = mtime(compiled);
if (built !== undefined && built >= newestSource()) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
