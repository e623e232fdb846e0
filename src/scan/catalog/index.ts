/*
 * Cataloguing an image: one pass over its layers, then every cataloger.
 *
 * The layer reader asks one question per file header; the catalogers' answers
 * are merged: the file is kept when any cataloger wants it kept (and
 * os-release files always are), else inspected when any wants it inspected.
 * A kept file that some cataloger wanted to inspect is inspected once the
 * layers are read, from the final image, so each cataloger sees every file it
 * asked for. `select` must therefore be a pure function of its arguments.
 *
 * Cataloger failures are warnings, never a failed scan; a layer that cannot
 * be read is (LayerReadError). Packages come back sorted by type, name,
 * version, path and purl, so a scan of the same image reads the same.
 */
import { readLayers, type LayerInput, type ReadLimits, type Selection } from '../layers/index.js';
import type { Cataloger, ImageFile, OsInfo, Package } from '../types.js';
import { apkCataloger } from './apk.js';
import { dpkgCataloger } from './dpkg.js';
import { detectOs, OS_RELEASE_PATHS } from './os-release.js';
import { rpmCataloger } from './rpm.js';

/** The OS package catalogers: apk, dpkg, rpm. */
export const osCatalogers: Cataloger[] = [apkCataloger, dpkgCataloger, rpmCataloger];

export interface CatalogResult {
  os?: OsInfo;
  packages: Package[];
  warnings: string[];
}

/**
 * Reads `layers` once and runs `catalogers` over the result. Throws
 * LayerReadError for an unreadable layer and the signal's reason when
 * aborted; a cataloger that throws becomes a warning naming it.
 */
export async function catalogImage(
  layers: LayerInput[],
  catalogers: Cataloger[],
  opts: { limits?: Partial<ReadLimits>; signal?: AbortSignal } = {},
): Promise<CatalogResult> {
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const select = (path: string, size: number, mode: number): Selection => {
    if (OS_RELEASE_PATHS.includes(path)) return 'keep';
    let inspect = false;
    for (const c of catalogers) {
      const choice = c.select(path, size, mode);
      if (choice === 'keep') return 'keep';
      if (choice === 'inspect') inspect = true;
    }
    return inspect ? 'inspect' : undefined;
  };
  const read = await readLayers(layers, select, (file) => inspectFile(catalogers, file, warn), opts.limits, opts.signal);
  const packages = [...read.inspected.values()].flat();
  for (const file of read.tree.list(() => true)) {
    opts.signal?.throwIfAborted();
    for (const p of await inspectFile(catalogers, file, warn)) packages.push(p);
  }
  const os = detectOs(read.tree);
  for (const c of catalogers) {
    if (!c.catalog) continue;
    opts.signal?.throwIfAborted();
    try {
      // One by one: spreading 100,000+ packages into push's arguments overflows the stack.
      for (const p of await c.catalog(read.tree, os, (m) => warn(`${c.name}: ${m}`))) packages.push(p);
    } catch (e) {
      warn(`${c.name}: failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { ...(os ? { os } : {}), packages: packages.sort(comparePackages), warnings: [...read.warnings, ...warnings] };
}

/** The packages every cataloger that wants to inspect `file` finds in it. */
async function inspectFile(catalogers: Cataloger[], file: ImageFile, warn: (message: string) => void): Promise<Package[]> {
  const found: Package[] = [];
  for (const c of catalogers) {
    if (!c.inspect || c.select(file.path, file.size, file.mode) !== 'inspect') continue;
    try {
      for (const p of await c.inspect(file)) found.push(p);
    } catch (e) {
      warn(`${c.name}: failed on ${file.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return found;
}

function comparePackages(a: Package, b: Package): number {
  for (const key of ['type', 'name', 'version', 'path', 'purl'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  return 0;
}
