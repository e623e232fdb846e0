/*
 * pnpm-lock.yaml. Its `packages` map is keyed by package and version, in a
 * form that changed with the lockfile version:
 *   v5.x  `/name/1.2.3`, `/@scope/name/1.2.3`, peers appended as `_peer@1.0.0`
 *   v6.x  `/name@1.2.3`, `/@scope/name@1.2.3`, peers appended as `(peer@1.0.0)`
 *   v9.x  `name@1.2.3` (peers only in the `snapshots` keys)
 * Entries for tarballs and git repositories carry `name` and `version`
 * fields, which win over the key. v5 and v6 mark packages only needed for
 * development with `dev: true`; v9 does not, so the packages that count are
 * those reachable from the importers' `dependencies` and
 * `optionalDependencies` through `snapshots`.
 */
import semver from 'semver';
import type { ImageFile, Package } from '../../types.js';
import { FoundPackages, isRecord, LangCatalogError, str } from './lang-package.js';
import { npmFound } from './npm-package-json.js';
import { parseLockfileYaml } from './yaml-lockfile.js';

type Yaml = Record<string, unknown>;

/** Name and version from a package key of the given lockfile major version; undefined when the key does not hold a version. */
export function pnpmKey(key: string, major: number): { name: string; version: string } | undefined {
  const bare = key.replace(/^\//, '').replace(/\(.*$/, '');
  let name: string;
  let version: string;
  if (major >= 6) {
    const at = bare.lastIndexOf('@');
    if (at <= 0) return undefined;
    [name, version] = [bare.slice(0, at), bare.slice(at + 1)];
  } else {
    const slash = bare.lastIndexOf('/');
    if (slash <= 0) return undefined;
    [name, version] = [bare.slice(0, slash), bare.slice(slash + 1).replace(/_.*$/, '')];
  }
  return semver.valid(version) ? { name, version } : undefined;
}

/** The snapshot key a dependency reference points to (v9): `1.2.3(peer@1)` under `name`, or an alias's own `real@1.2.3`. */
function snapshotKey(name: string, ref: string): string | undefined {
  if (ref.startsWith('link:')) return undefined;
  const at = ref.indexOf('@', 1);
  const stop = Math.min(...[ref.indexOf('('), ref.indexOf(':')].filter((i) => i >= 0), ref.length);
  return ref.startsWith('@') || (at > 0 && at < stop) ? ref : `${name}@${ref}`;
}

/** The `name: ref` pairs of an entry's dependencies and optionalDependencies (v9 importers give `{version}` objects). */
function prodRefs(entry: Yaml): [string, string][] {
  const refs: [string, string][] = [];
  for (const section of [entry.dependencies, entry.optionalDependencies]) {
    if (!isRecord(section)) continue;
    for (const [name, value] of Object.entries(section)) {
      const ref = str(value) ?? (isRecord(value) ? str(value.version) : undefined);
      if (ref) refs.push([name, ref]);
    }
  }
  return refs;
}

/** Snapshot keys reachable from the importers; every key is visited at most once. */
function reachableSnapshots(doc: Yaml, snapshots: Yaml): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string, ref: string) => {
    const key = snapshotKey(name, ref);
    if (key && !seen.has(key) && Object.hasOwn(snapshots, key)) {
      seen.add(key);
      queue.push(key);
    }
  };
  const importers = isRecord(doc.importers) ? Object.values(doc.importers) : [doc];
  for (const importer of importers) if (isRecord(importer)) for (const [n, r] of prodRefs(importer)) visit(n, r);
  for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
    const snapshot = snapshots[key];
    if (isRecord(snapshot)) for (const [n, r] of prodRefs(snapshot)) visit(n, r);
  }
  return seen;
}

function addEntry(found: FoundPackages, key: string, entry: unknown, major: number): void {
  const fromKey = pnpmKey(key, major);
  const name = (isRecord(entry) && str(entry.name)) || fromKey?.name;
  const version = (isRecord(entry) && str(entry.version)) || fromKey?.version;
  if (name && version) found.add(npmFound(name, version));
}

/** Non-development packages of a pnpm lockfile (v5, v6, v9). Throws LangCatalogError for a file that is not one. */
export function parsePnpmLock(file: ImageFile): Package[] {
  // Every scalar is a string: `lockfileVersion: 5.4`, `dev: true`.
  const doc = parseLockfileYaml(file);
  const major = isRecord(doc) ? parseInt(str(doc.lockfileVersion) ?? '', 10) : NaN;
  if (!isRecord(doc) || !(major >= 5)) throw new LangCatalogError(file.path, 'not a pnpm lockfile (no lockfileVersion 5 or later)');
  const found = new FoundPackages(file, 'npm');
  const packages = isRecord(doc.packages) ? doc.packages : {};
  if (major >= 9 && isRecord(doc.snapshots)) {
    for (const key of reachableSnapshots(doc, doc.snapshots)) {
      const packageKey = key.replace(/\(.*$/, '');
      addEntry(found, packageKey, Object.hasOwn(packages, packageKey) ? packages[packageKey] : undefined, major);
    }
  } else {
    for (const [key, entry] of Object.entries(packages)) {
      if (!(isRecord(entry) && entry.dev === 'true')) addEntry(found, key, entry, major);
    }
  }
  return found.list();
}
