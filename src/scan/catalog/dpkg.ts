/*
 * Debian and Ubuntu packages from dpkg's database: /var/lib/dpkg/status, and
 * /var/lib/dpkg/status.d/<package> where distroless images keep one package's
 * control paragraph per file (their `*.md5sums` neighbours are skipped).
 *
 * deb822(5): paragraphs are separated by blank lines (lines of only spaces
 * and tabs count as blank), fields are `Name: value` with case-insensitive
 * names, and lines starting with a space or tab continue the previous field.
 *
 * A package counts as installed when the third word of its Status field (the
 * package state, dpkg(1)) is installed, triggers-pending or triggers-awaited:
 * its files are unpacked and configured, whatever the selection (install,
 * hold, deinstall) says. A paragraph with no Status field (status.d) counts.
 *
 * Advisories are keyed by source package: `Source: name (version)`, where the
 * version is given only when it differs from the binary's (binNMUs), and the
 * field is absent when the source is named like the binary.
 */
import type { Cataloger, FileTree, ImageFile, OsInfo, Package } from '../types.js';
import { distroQualifier, osPackageUrl } from './os-release.js';

export const DPKG_STATUS = '/var/lib/dpkg/status';
export const DPKG_STATUS_DIR = '/var/lib/dpkg/status.d/';

const INSTALLED_STATES = new Set(['installed', 'triggers-pending', 'triggers-awaited']);
const SOURCE = /^(\S+)(?:\s+\((\S+)\))?$/;

/** The paragraphs of a deb822 file, field names lower-cased, continuation lines joined with newlines. */
export function paragraphs(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let field: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) out.push(current);
      current = new Map();
      field = undefined;
    } else if (line[0] === ' ' || line[0] === '\t') {
      if (field !== undefined) current.set(field, `${current.get(field) ?? ''}\n${line.slice(1)}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      field = line.slice(0, colon).toLowerCase();
      current.set(field, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) out.push(current);
  return out;
}

function isInstalled(status: string | undefined): boolean {
  return status === undefined || INSTALLED_STATES.has(status.split(/\s+/)[2] ?? '');
}

/** The installed packages of a status file (or one status.d file); bad paragraphs are reported to `warn`. */
export function parseDpkgStatus(file: ImageFile, os: OsInfo | undefined, warn: (message: string) => void): Package[] {
  const packages: Package[] = [];
  for (const [index, p] of paragraphs(file.content.toString('utf8')).entries()) {
    if (!isInstalled(p.get('status'))) continue;
    const name = p.get('package');
    const version = p.get('version');
    if (!name || !version) {
      warn(`${file.path}: paragraph ${index + 1} has no Package or Version; skipped`);
      continue;
    }
    const source = SOURCE.exec(p.get('source') ?? name);
    if (!source) warn(`${file.path}: ${name} has an unreadable Source field; its source is taken to be itself`);
    const arch = p.get('architecture') || undefined;
    packages.push({
      name,
      version,
      type: 'dpkg',
      purl: osPackageUrl('deb', os, name, version, { arch, distro: distroQualifier(os) }),
      path: file.path,
      layer: file.layer,
      source: { name: source?.[1] ?? name, version: source?.[2] ?? version },
      ...(arch ? { arch } : {}),
    });
  }
  return packages;
}

function isStatusDirEntry(path: string): boolean {
  const rest = path.slice(DPKG_STATUS_DIR.length);
  return path.startsWith(DPKG_STATUS_DIR) && rest !== '' && !rest.includes('/') && !rest.endsWith('.md5sums');
}

/** Keeps dpkg's status file and status.d entries; finds the installed packages in them. */
export const dpkgCataloger: Cataloger = {
  name: 'dpkg',
  select: (path) => (path === DPKG_STATUS || isStatusDirEntry(path) ? 'keep' : undefined),
  async catalog(tree: FileTree, os: OsInfo | undefined, warn: (message: string) => void): Promise<Package[]> {
    const status = tree.get(DPKG_STATUS);
    const files = [...(status ? [status] : []), ...tree.list(isStatusDirEntry)];
    return files.flatMap((file) => parseDpkgStatus(file, os, warn));
  },
};
