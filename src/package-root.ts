/** The package root (the nearest directory above this module with a package.json): shipped SQL lives under it. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('dfc: cannot find the package root (no package.json above src/)');
    dir = up;
  }
  return dir;
}

/** Absolute path of the installed package, from a checkout or node_modules. */
export const PACKAGE_ROOT: string = findPackageRoot();
