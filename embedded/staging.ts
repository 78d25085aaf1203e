/**
 * As root the embedded server runs as the unprivileged postgres user, which must be able to enter
 * every directory above its binaries and its data directory. A checkout in a `mktemp -d` directory
 * (0700) or under /root is not: there the server binaries are copied once, and the data directory
 * lives, under a root-owned 0755 staging directory (default /var/tmp/dfc-embedded, `DFC_STAGE_DIR`
 * to choose). Everything else (cluster.json with the password, the demo's ledgers) stays in
 * DFC_HOME. Not root, or reachable: nothing is staged.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DfcError } from '../src/errors.js';

export const STAGE_DIR_ENV = 'DFC_STAGE_DIR';

export const isRoot = () => process.getuid?.() === 0;

/** The first directory at or above `dir` that others may not enter (no o+x), if any. */
export function closedAncestor(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Whether the postgres user must be given copies: root, and `dir` is behind a closed directory. */
export function needsStaging(dir: string): boolean {
  return isRoot() && closedAncestor(dir) !== undefined;
}

export function stageRoot(): string {
  const chosen = process.env[STAGE_DIR_ENV];
  if (chosen) return path.resolve(chosen);
  return path.join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'dfc-embedded');
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * Where a cluster whose DFC_HOME is `home` keeps its data directory: an existing one wherever it
 * is (a later chmod does not lose it), else staged when postgres cannot reach DFC_HOME.
 */
export function dataDirFor(home: string): string {
  const abs = path.resolve(home);
  const inHome = path.join(abs, 'pg');
  const staged = path.join(stageRoot(), `data-${shortHash(abs)}`, 'pg');
  if (existsSync(path.join(inHome, 'PG_VERSION'))) return inHome;
  if (existsSync(path.join(staged, 'PG_VERSION'))) return staged;
  return needsStaging(path.dirname(abs)) ? staged : inHome;
}

/**
 * The staging directory, made root-owned 0755; refused when someone else made it or can write it
 * (a planted directory would hand them the server's binaries), or when postgres cannot reach it.
 */
async function ensureStageRoot(): Promise<string> {
  const root = stageRoot();
  const closed = closedAncestor(path.dirname(root));
  if (closed)
    throw new DfcError(
      'DFC_CONFIG',
      `the embedded server runs as the user postgres, which cannot enter ${closed} (above the staging directory ${root}); nothing was created`,
      { fix: `set ${STAGE_DIR_ENV} to a directory under paths others may enter, e.g. /var/tmp/dfc-embedded` },
    );
  await mkdir(root, { recursive: true, mode: 0o755 });
  const st = lstatSync(root);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new DfcError(
      'DFC_CONFIG',
      `the staging directory ${root} is not a root-owned directory closed to writes by others (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); nothing was staged`,
      { fix: `remove ${root}, or set ${STAGE_DIR_ENV} to a directory only root can write` },
    );
  await chmod(root, 0o755);
  return root;
}

/** A directory root owns and others may enter, for one staged data directory's parent. */
export async function prepareStagedDataDir(dataDir: string): Promise<void> {
  await ensureStageRoot();
  await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
}

/**
 * The server binaries the postgres user can run: `bin` itself when reachable, else a copy of its
 * installation (`bin/..`: bin, lib, share), keyed by its path and the postgres binary's size and
 * time so a reinstall gets a new copy. Copied to a temporary name and renamed, so a crash never
 * leaves a half copy in use. `onStaged` hears of a copy made now.
 */
export async function reachableBinDir(
  bin: string,
  onStaged?: (from: string, to: string) => void,
): Promise<string> {
  if (!needsStaging(bin)) return bin;
  const install = realpathSync(path.dirname(bin));
  const server = statSync(path.join(bin, 'postgres'));
  const target = path.join(
    stageRoot(),
    `server-${shortHash(`${install}\0${server.size}\0${server.mtimeMs}`)}`,
  );
  const stagedBin = path.join(target, path.basename(bin));
  if (existsSync(path.join(target, '.complete'))) return stagedBin;
  const root = await ensureStageRoot();
  const partial = path.join(root, `.partial-${process.pid}-${Date.now()}`);
  // the package's lib symlinks are relative: keep them so (the default would point them back here)
  await cp(install, partial, { recursive: true, verbatimSymlinks: true });
  await chmod(partial, 0o755);
  await writeFile(path.join(partial, '.complete'), `${install}\n`);
  try {
    await rename(partial, target);
  } catch (e) {
    // another run staged the same installation first: theirs is complete, ours is not needed
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(path.join(target, '.complete'))) throw e;
  }
  onStaged?.(install, target);
  return stagedBin;
}

/** Remove a staged data directory's parent (tests that drop their cluster). */
export async function removeStagedDataDir(dataDir: string): Promise<void> {
  if (path.dirname(path.dirname(dataDir)) === stageRoot())
    await rm(path.dirname(dataDir), { recursive: true, force: true });
}
