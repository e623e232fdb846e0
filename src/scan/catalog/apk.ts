/*
 * Alpine (and Wolfi) packages from apk's installed database,
 * /lib/apk/db/installed: one record per package, records separated by a blank
 * line, each line `<letter>:<value>` (apk-tools' "apk spec" index format).
 * The letters read here: P name, V version, A architecture, o origin (the
 * source package advisories are keyed by), L license. Every other line (files,
 * checksums, dependencies) is skipped.
 */
import type { Cataloger, FileTree, ImageFile, OsInfo, Package } from '../types.js';
import { osPackageUrl } from './os-release.js';

export const APK_INSTALLED = '/lib/apk/db/installed';

/** One record's fields, by letter (the first value when a letter repeats). */
function records(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let current = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) out.push(current);
      current = new Map();
    } else if (line[1] === ':' && !current.has(line[0] as string)) {
      current.set(line[0] as string, line.slice(2).trimEnd());
    }
  }
  if (current.size > 0) out.push(current);
  return out;
}

/** The packages of an installed database; records without a name or version are reported to `warn`. */
export function parseApkInstalled(file: ImageFile, os: OsInfo | undefined, warn: (message: string) => void): Package[] {
  const packages: Package[] = [];
  for (const [index, record] of records(file.content.toString('utf8')).entries()) {
    const name = record.get('P');
    const version = record.get('V');
    if (!name || !version) {
      warn(`${file.path}: record ${index + 1} has no P: (name) or V: (version); skipped`);
      continue;
    }
    const arch = record.get('A') || undefined;
    const license = record.get('L');
    packages.push({
      name,
      version,
      type: 'apk',
      purl: osPackageUrl('apk', os, name, version, { arch, distro: os?.versionId }),
      path: file.path,
      layer: file.layer,
      source: { name: record.get('o') || name, version },
      ...(license ? { licenses: [license] } : {}),
      ...(arch ? { arch } : {}),
    });
  }
  return packages;
}

/** Keeps /lib/apk/db/installed; finds one package per record in it. */
export const apkCataloger: Cataloger = {
  name: 'apk',
  select: (path) => (path === APK_INSTALLED ? 'keep' : undefined),
  async catalog(tree: FileTree, os: OsInfo | undefined, warn: (message: string) => void): Promise<Package[]> {
    const file = tree.get(APK_INSTALLED);
    return file ? parseApkInstalled(file, os, warn) : [];
  },
};
