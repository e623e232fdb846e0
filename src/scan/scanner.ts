import type { Readable } from 'node:stream';
import { parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { catalogImage, osCatalogers } from './catalog/index.js';
import { languageCatalogers } from './catalog/lang/index.js';
import { layerCompression, type LayerInput, type ReadLimits } from './layers/index.js';
import { matchPackages, type AdvisoryLookup } from './advisories/index.js';
import type { Finding, OsInfo, Package, ScanResult } from './types.js';

/** Every cataloger berth has: OS packages first, then language packages. */
export const ALL_CATALOGERS = [...osCatalogers, ...languageCatalogers];

/** The OSV ecosystems `berth db update` fetches by default: those whose packages berth's catalogers find. */
export const DEFAULT_ECOSYSTEMS = [
  'Alpine',
  'Debian',
  'Ubuntu',
  'Red Hat',
  'AlmaLinux',
  'Rocky Linux',
  'Wolfi',
  'Chainguard',
  'npm',
  'PyPI',
  'Go',
  'Maven',
  'RubyGems',
  'crates.io',
];

/** An image manifest to scan and where its blobs come from (a registry, a layout, an archive, berth's storage). */
export interface ImageToScan {
  /** The reference as the user gave it, or repository@digest in the registry. */
  name: string;
  /** The manifest's digest. */
  digest: string;
  /** The manifest's bytes (an image manifest, not an index). */
  manifest: Buffer;
  mediaType: string;
  /** os/arch[/variant], when it came from an index. */
  platform?: string;
  /** A blob's bytes, digest-verified by whoever provides them. */
  openBlob(descriptor: Descriptor): Promise<Readable>;
}

/** What an image contains: its OS and packages (the SBOM), before any advisory is consulted. */
export interface Inventory {
  os?: OsInfo;
  packages: Package[];
  warnings: string[];
  configDigest?: string;
}

export class NotAnImageError extends Error {
  override name = 'NotAnImageError';
}

/**
 * Reads the image's layers once, in order, and catalogs them. Throws
 * NotAnImageError for an index or an artifact without layers, and
 * LayerReadError (scan/layers) for an unreadable layer.
 */
export async function takeInventory(
  image: ImageToScan,
  opts: { limits?: Partial<ReadLimits>; signal?: AbortSignal; onLayer?: (index: number, count: number, d: Descriptor) => void } = {},
): Promise<Inventory> {
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(image.manifest, image.mediaType);
  } catch (e) {
    throw new NotAnImageError(`${image.name}: ${(e as Error).message}`);
  }
  if (parsed.kind !== 'manifest') throw new NotAnImageError(`${image.name} is an index: scan one of its platforms`);
  const warnings: string[] = [];
  const layers: LayerInput[] = [];
  const usable = parsed.layers.filter((d) => {
    // What the layer reader understands, less foreign layers: registries do not hold their bytes.
    if (layerCompression(d.mediaType) !== undefined && !/(foreign|nondistributable)/.test(d.mediaType)) return true;
    warnings.push(`layer ${d.digest} (${d.mediaType}) is not a filesystem layer berth can read; skipped`);
    return false;
  });
  if (parsed.layers.length > 0 && usable.length === 0) throw new NotAnImageError(`${image.name} has no filesystem layers (an artifact?)`);
  usable.forEach((d, i) => {
    layers.push({
      digest: d.digest,
      mediaType: d.mediaType,
      open: () => {
        opts.onLayer?.(i, usable.length, d);
        return image.openBlob(d);
      },
    });
  });
  const result = await catalogImage(layers, ALL_CATALOGERS, { limits: opts.limits, signal: opts.signal });
  return { os: result.os, packages: result.packages, warnings: [...warnings, ...result.warnings], configDigest: parsed.config?.digest };
}

/** Matches an inventory against the advisory database: the findings, deterministic. */
export function findVulnerabilities(db: AdvisoryLookup, inventory: Inventory, warn?: (m: string) => void): Finding[] {
  return matchPackages(db, inventory.packages, inventory.os, { warn });
}

/** The full result of one image: inventory plus findings, stamped with the database it used. */
export function scanResult(
  image: Pick<ImageToScan, 'name' | 'digest' | 'mediaType' | 'platform'>,
  inventory: Inventory,
  findings: Finding[],
  db: ScanResult['db'],
  now = new Date(),
): ScanResult {
  return {
    artifact: { name: image.name, digest: image.digest, mediaType: image.mediaType, platform: image.platform, configDigest: inventory.configDigest },
    os: inventory.os,
    packages: inventory.packages,
    findings,
    warnings: inventory.warnings,
    db,
    scannedAt: now.toISOString(),
  };
}
