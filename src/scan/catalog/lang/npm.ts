/*
 * JavaScript packages: installed ones (`node_modules/<name>/package.json`)
 * and the lockfiles of npm, Yarn and pnpm. A lockfile inside `node_modules`
 * belongs to a published package's own development, not to what is
 * installed, and is not read. The same package is reported once per file it
 * appears in; merging across files is the caller's choice.
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { baseName, catalogFiles, LangCatalogError, MAX_LOCKFILE_SIZE, MAX_METADATA_SIZE } from './lang-package.js';
import { parsePackageLock } from './npm-lock.js';
import { isInstalledPackageJson, parseInstalledPackageJson } from './npm-package-json.js';
import { parsePnpmLock } from './pnpm-lock.js';
import { parseYarnLock } from './yarn-lock.js';

const LOCKFILES: Record<string, (file: ImageFile) => Package[]> = {
  'package-lock.json': parsePackageLock,
  'npm-shrinkwrap.json': parsePackageLock,
  'yarn.lock': parseYarnLock,
  'pnpm-lock.yaml': parsePnpmLock,
};

function isLockfile(path: string): boolean {
  return Object.hasOwn(LOCKFILES, baseName(path)) && !/(?:^|\/)node_modules\//.test(path);
}

function isNpmFile(path: string): boolean {
  return isLockfile(path) || isInstalledPackageJson(path);
}

function parse(file: ImageFile): Package[] {
  if (isInstalledPackageJson(file.path)) return parseInstalledPackageJson(file);
  const parser = LOCKFILES[baseName(file.path)];
  if (!parser) throw new LangCatalogError(file.path, 'not an npm file');
  return parser(file);
}

/** npm packages from installed package.json files and npm, Yarn and pnpm lockfiles. */
export const npmCataloger: Cataloger = {
  name: 'npm',
  select: (path, size) => {
    if (isLockfile(path)) return size <= MAX_LOCKFILE_SIZE ? 'keep' : undefined;
    return isInstalledPackageJson(path) && size <= MAX_METADATA_SIZE ? 'keep' : undefined;
  },
  catalog: async (tree, _os, warn) => catalogFiles(tree, isNpmFile, warn, parse),
};
