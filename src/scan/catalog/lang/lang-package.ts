/*
 * What every language cataloger shares: the error for a file that cannot be
 * read, the collector that turns (name, version) pairs into Packages with a
 * purl and dedupes them within one file, and the loop over kept files that
 * turns a bad file into a warning.
 */
import { PackageURL } from 'packageurl-js';
import type { FileTree, ImageFile, Package, PackageType } from '../../types.js';

/** One file's content is not what its format says; the message names the file and the problem. */
export class LangCatalogError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'LangCatalogError';
  }
}

/** More packages than this in one file is not a real manifest; the file is refused. */
export const MAX_PACKAGES_PER_FILE = 200_000;

/** Lockfiles larger than this are not kept (a real monorepo's lockfile is a few MiB). */
export const MAX_LOCKFILE_SIZE = 32 * 1024 * 1024;

/** Package metadata files (package.json, METADATA, gemspec) larger than this are not kept. */
export const MAX_METADATA_SIZE = 4 * 1024 * 1024;

/** Executables larger than this are not inspected: `inspect` holds a whole file in memory. */
export const MAX_BINARY_SIZE = 256 * 1024 * 1024;

/** The purl-spec PURL-TYPES type of each package type this folder produces. */
const PURL_TYPE: Partial<Record<PackageType, string>> = {
  npm: 'npm',
  python: 'pypi',
  'go-module': 'golang',
  java: 'maven',
  gem: 'gem',
  cargo: 'cargo',
};

/** What a cataloger knows of one package; `purlName` is the name as the purl spells it when it differs. */
export interface Found {
  name: string;
  version: string;
  /** purl namespace (npm scope, Maven group, Go module path up to the last `/`). */
  namespace?: string;
  /** purl name when it is not `name` (npm without its scope, PEP 503-normalised PyPI names). */
  purlName?: string;
  licenses?: string[];
  /** Where it was found when that is more than the file's path (a JAR nested in a WAR). */
  path?: string;
  /** purl type when not the package type's own (`generic` for a JAR whose Maven group is unknown). */
  purlType?: string;
}

/**
 * The packages found in one file, each (path, name, version) once. Entries the
 * purl library refuses (an empty name, an invalid Go version) are dropped: a
 * package that cannot be named cannot be matched.
 */
export class FoundPackages {
  private readonly byKey = new Map<string, Package>();

  constructor(
    private readonly file: Pick<ImageFile, 'path' | 'layer'>,
    private readonly type: PackageType,
  ) {}

  /** Adds one package; false when it was a duplicate or unnameable. Throws LangCatalogError past MAX_PACKAGES_PER_FILE. */
  add(found: Found): boolean {
    if (!found.name || !found.version) return false;
    const path = found.path ?? this.file.path;
    const key = `${path}\0${found.name}\0${found.version}`;
    if (this.byKey.has(key)) return false;
    if (this.byKey.size >= MAX_PACKAGES_PER_FILE) {
      throw new LangCatalogError(this.file.path, `more than ${MAX_PACKAGES_PER_FILE} packages`);
    }
    const purl = purlOf(this.type, found);
    if (!purl) return false;
    const pkg: Package = { name: found.name, version: found.version, type: this.type, purl, path, layer: this.file.layer };
    if (found.licenses?.length) pkg.licenses = found.licenses;
    this.byKey.set(key, pkg);
    return true;
  }

  /** The packages in the order they were first found. */
  list(): Package[] {
    return [...this.byKey.values()];
  }
}

function purlOf(type: PackageType, found: Found): string | undefined {
  const purlType = found.purlType ?? PURL_TYPE[type];
  if (!purlType) return undefined;
  try {
    return new PackageURL(purlType, found.namespace, found.purlName ?? found.name, found.version, undefined, undefined).toString();
  } catch {
    return undefined;
  }
}

/**
 * Runs `parse` over every kept file that `match` selects. A file that throws
 * LangCatalogError gives a warning and no packages; any other error is a bug
 * and propagates.
 */
export function catalogFiles(
  tree: FileTree,
  match: (path: string) => boolean,
  warn: (message: string) => void,
  parse: (file: ImageFile) => Package[],
): Package[] {
  const packages: Package[] = [];
  for (const file of tree.list(match)) {
    try {
      for (const p of parse(file)) packages.push(p);
    } catch (err) {
      if (!(err instanceof LangCatalogError)) throw err;
      warn(err.message);
    }
  }
  return packages;
}

/** `parse(file)`, or [] when it throws LangCatalogError: what `inspect` gives for a bad file. Other errors propagate. */
export function inspectOrNothing(file: ImageFile, parse: (file: ImageFile) => Package[]): Package[] {
  try {
    return parse(file);
  } catch (err) {
    if (err instanceof LangCatalogError) return [];
    throw err;
  }
}

/** The file's text, without a UTF-8 byte order mark. */
export function textOf(file: ImageFile): string {
  const text = file.content.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** The file parsed as JSON; throws LangCatalogError when it is not JSON. */
export function jsonOf(file: ImageFile): unknown {
  try {
    return JSON.parse(textOf(file)) as unknown;
  } catch (err) {
    throw new LangCatalogError(file.path, `not valid JSON (${(err as Error).message})`);
  }
}

/** A JSON or YAML mapping (not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is a non-empty string. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The last path segment. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True for a regular file with an execute bit, big enough to be an ELF program and small enough to hold in memory. */
export function isExecutableCandidate(size: number, mode: number): boolean {
  return (mode & 0o111) !== 0 && size >= 64 && size <= MAX_BINARY_SIZE;
}
