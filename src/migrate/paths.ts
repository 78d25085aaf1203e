/** Where the package's shipped migration data lives, and the consolidated baseline version. */
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

/** db/templates: migration.up.sql / migration.down.sql and examples/ (the guide's 000018, adapted). */
export const TEMPLATES_DIR: string = path.join(PACKAGE_ROOT, 'db', 'templates');

/**
 * Schema v2 stands for legacy 000001–000017: `dfc install` and `dfc cutover` leave a database at
 * version 17 with no file for it. A directory whose first file is above 17 starts after this
 * baseline: the runner accepts a database at 17, and a `down` past the first file returns to 17.
 */
export const CONSOLIDATED_BASELINE = 17;
