/*
 * package-lock.json and npm-shrinkwrap.json (npm docs, "package-lock.json").
 * Lockfile v2 and v3 have a `packages` map keyed by the folder each package
 * is installed in: "" is the root project, `node_modules/a/node_modules/b` a
 * nested copy, a key without `node_modules/` a workspace folder, and an entry
 * with `link: true` a symlink to one of those. Aliases keep the alias as the
 * folder and give the real name in `name`. Lockfile v1 (and v2 readers that
 * ignore `packages`) have a `dependencies` tree of name -> {version,
 * dependencies}, where an alias's version reads `npm:real@1.2.3` and git,
 * tarball and folder dependencies have a URL or `file:` spec instead of a
 * version. Entries npm marks `dev: true` are only installed for development
 * and are left out; workspace folders and links are the project's own code.
 */
import semver from 'semver';
import type { ImageFile, Package } from '../../types.js';
import { FoundPackages, isRecord, jsonOf, LangCatalogError, MAX_PACKAGES_PER_FILE, str } from './lang-package.js';
import { npmFound } from './npm-package-json.js';

/** The package name from a `packages` key: what follows the last `node_modules/`; undefined for workspace folders. */
function nameFromFolder(key: string): string | undefined {
  const i = key.lastIndexOf('node_modules/');
  if (i < 0 || (i > 0 && key[i - 1] !== '/')) return undefined;
  return key.slice(i + 'node_modules/'.length) || undefined;
}

function fromPackages(packages: Record<string, unknown>, found: FoundPackages): void {
  for (const [key, entry] of Object.entries(packages)) {
    if (!isRecord(entry) || entry.link === true || entry.dev === true) continue;
    const name = str(entry.name) ?? nameFromFolder(key);
    const version = str(entry.version);
    if (name && version && nameFromFolder(key)) found.add(npmFound(name, version));
  }
}

/** `npm:real@1.2.3` -> real, 1.2.3; a plain version stays; anything that is not a version gives undefined. */
function resolveV1(name: string, spec: string): { name: string; version: string } | undefined {
  if (spec.startsWith('npm:')) {
    const at = spec.lastIndexOf('@');
    return at > 4 ? resolveV1(spec.slice(4, at), spec.slice(at + 1)) : undefined;
  }
  return semver.valid(spec) ? { name, version: spec } : undefined;
}

/** Walks the v1 `dependencies` tree without recursion, visiting at most MAX_PACKAGES_PER_FILE entries. */
function fromDependencies(path: string, root: Record<string, unknown>, found: FoundPackages): void {
  const stack: Record<string, unknown>[] = [root];
  let visited = 0;
  for (let deps = stack.pop(); deps; deps = stack.pop()) {
    for (const [name, entry] of Object.entries(deps)) {
      if (++visited > MAX_PACKAGES_PER_FILE) throw new LangCatalogError(path, `more than ${MAX_PACKAGES_PER_FILE} entries`);
      if (!isRecord(entry) || entry.dev === true) continue;
      const spec = str(entry.version);
      const pkg = spec && resolveV1(name, spec);
      if (pkg) found.add(npmFound(pkg.name, pkg.version));
      if (isRecord(entry.dependencies)) stack.push(entry.dependencies);
    }
  }
}

/** Non-development packages of a package-lock.json or npm-shrinkwrap.json. Throws LangCatalogError for a file that is not one. */
export function parsePackageLock(file: ImageFile): Package[] {
  const lock = jsonOf(file);
  if (!isRecord(lock) || typeof lock.lockfileVersion !== 'number') {
    throw new LangCatalogError(file.path, 'not a package-lock (no lockfileVersion)');
  }
  const found = new FoundPackages(file, 'npm');
  if (isRecord(lock.packages)) fromPackages(lock.packages, found);
  else if (isRecord(lock.dependencies)) fromDependencies(file.path, lock.dependencies, found);
  return found.list();
}
