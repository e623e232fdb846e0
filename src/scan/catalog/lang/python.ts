/*
 * Installed Python distributions: the core metadata file of each, either
 * `<name>-<version>.dist-info/METADATA` (wheels, PEP 376/427) or
 * `<name>.egg-info/PKG-INFO` and the older single-file `<name>.egg-info`
 * (setuptools). The format is email headers (Core metadata specifications):
 * `Name`, `Version`, `License-Expression` (metadata 2.4), `License` and
 * `Classifier: License :: ...` lines, up to the first blank line; a line
 * starting with whitespace continues the one before. The purl name is the
 * PEP 503 normalised name; Package.name keeps the distribution's spelling.
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { catalogFiles, FoundPackages, LangCatalogError, MAX_METADATA_SIZE, textOf } from './lang-package.js';

/** Header values by lower-cased name, in file order. */
export function parseMetadataHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: { values: string[]; index: number } | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line)) {
      if (last) last.values[last.index] += '\n' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = { values, index: values.length - 1 };
  }
  return headers;
}

/** PEP 503: runs of `-`, `_` and `.` become one `-`, lower case. */
export function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/**
 * The distribution's licenses: its License-Expression; else its License
 * field when that is one line and not UNKNOWN; else the last part of each
 * `License ::` classifier (`License :: OSI Approved :: MIT License` -> `MIT License`).
 */
function licensesOf(headers: Map<string, string[]>): string[] {
  const expression = headers.get('license-expression')?.[0];
  if (expression) return [expression];
  const license = headers.get('license')?.[0];
  if (license && !license.includes('\n') && license.toUpperCase() !== 'UNKNOWN') return [license];
  const fromClassifiers = (headers.get('classifier') ?? [])
    .map((c) => c.split('::').map((p) => p.trim()))
    .filter((parts) => parts[0] === 'License' && parts.length > 1 && parts[parts.length - 1] !== 'OSI Approved')
    .map((parts) => parts[parts.length - 1] as string);
  return [...new Set(fromClassifiers)];
}

/** The one distribution a metadata file describes. Throws LangCatalogError when Name or Version is missing. */
export function parsePythonMetadata(file: ImageFile): Package[] {
  const headers = parseMetadataHeaders(textOf(file));
  const name = headers.get('name')?.[0];
  const version = headers.get('version')?.[0];
  if (!name || !version) throw new LangCatalogError(file.path, 'no Name or Version header');
  const found = new FoundPackages(file, 'python');
  found.add({ name, version, purlName: pep503(name), licenses: licensesOf(headers) });
  return found.list();
}

/** `.dist-info/METADATA`, `.egg-info/PKG-INFO`, or a single-file `.egg-info`. */
function isPythonMetadata(path: string): boolean {
  return /\.dist-info\/METADATA$|\.egg-info\/PKG-INFO$|\.egg-info$/.test(path);
}

/** Installed Python distributions. */
export const pythonCataloger: Cataloger = {
  name: 'python-metadata',
  select: (path, size) => (isPythonMetadata(path) && size <= MAX_METADATA_SIZE ? 'keep' : undefined),
  catalog: async (tree, _os, warn) => catalogFiles(tree, isPythonMetadata, warn, parsePythonMetadata),
};
