/*
 * npm names and installed packages. A package installed by any npm client
 * sits at `node_modules/<name>/` (`node_modules/@scope/name/`) with its own
 * package.json, whose `name` and `version` are what was installed (an alias
 * `node_modules/alias/` holds the real package's package.json).
 */
import type { ImageFile, Package } from '../../types.js';
import { FoundPackages, isRecord, jsonOf, LangCatalogError, str, type Found } from './lang-package.js';

/** An npm package's purl parts: `@scope/name` -> namespace `@scope`, name `name` (purl-spec npm). */
export function npmFound(name: string, version: string, licenses?: string[]): Found {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const found: Found = slash > 0 ? { name, version, namespace: name.slice(0, slash), purlName: name.slice(slash + 1) } : { name, version };
  if (licenses?.length) found.licenses = licenses;
  return found;
}

/** True for `.../node_modules/<name>/package.json` and `.../node_modules/@scope/<name>/package.json`. */
export function isInstalledPackageJson(path: string): boolean {
  return /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path);
}

/** `license: "MIT"`, `license: {type}`, or the legacy `licenses: [{type}]`. */
function licensesOf(manifest: Record<string, unknown>): string[] {
  const one = (v: unknown): string | undefined => str(v) ?? (isRecord(v) ? str(v.type) : undefined);
  const license = one(manifest.license);
  if (license) return [license];
  if (!Array.isArray(manifest.licenses)) return [];
  return (manifest.licenses as unknown[]).slice(0, 64).flatMap((l) => one(l) ?? []);
}

/**
 * The package an installed package.json describes; [] when it has no name
 * or version (packages may ship such files for tooling). Throws
 * LangCatalogError when it is not a JSON object.
 */
export function parseInstalledPackageJson(file: ImageFile): Package[] {
  const manifest = jsonOf(file);
  if (!isRecord(manifest)) throw new LangCatalogError(file.path, 'not a JSON object');
  const name = str(manifest.name);
  const version = str(manifest.version);
  if (!name || !version) return [];
  const found = new FoundPackages(file, 'npm');
  found.add(npmFound(name, version, licensesOf(manifest)));
  return found.list();
}
