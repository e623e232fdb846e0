/*
 * What both SBOM writers share: their error, timestamps, the image's package
 * URL, the packages in a fixed order, and the names of the properties berth
 * records about each package.
 *
 * Package properties (CycloneDX `properties`, SPDX package annotations
 * "name: value"), in the `berth:` namespace as the CycloneDX property taxonomy
 * asks of tools (Trivy writes the same facts as `aquasecurity:trivy:*`):
 *   berth:package:type        the cataloger's package type (dpkg, npm, go-module, ...)
 *   berth:package:path        where in the image the package was found
 *   berth:package:layer       digest of the layer holding that path
 *   berth:package:src-name    OS packages: the source package advisories are keyed by
 *   berth:package:src-version OS packages: that source package's version
 *   berth:package:arch        OS packages: the architecture
 */
import { PackageURL } from 'packageurl-js';
import { parseImageReference } from '../../oci/reference.js';
import type { Package, ScanResult } from '../types.js';

/** An SBOM cannot be written as asked: an invalid option, or an artifact name that is not an image reference. */
export class SbomError extends Error {
  override readonly name = 'SbomError';
}

/** RFC 3339 UTC with whole seconds (`2024-01-31T12:00:00Z`), as SPDX's `created` pattern requires; throws SbomError for an invalid date. */
export function isoSeconds(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new SbomError('the timestamp is not a valid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The image's package URL, type `oci` (purl-spec PURL-TYPES.rst): name = the
 * last path component of the repository, version = the manifest digest,
 * qualifiers `repository_url` (only when the reference names its registry;
 * berth assumes no default registry), `tag` and `arch` (from the platform).
 * A local source (`oci:DIR[:tag]`, `docker-archive:FILE`) is named by its
 * directory or file name. Throws SbomError when any other artifact name is not
 * an image reference.
 */
export function imagePurl(artifact: ScanResult['artifact']): string {
  const arch = artifact.platform?.split('/')[1];
  const local = /^(oci|docker-archive):/.exec(artifact.name);
  if (local) {
    // A layout or archive on disk names no registry: the file or directory name is the image's name.
    const base = artifact.name.slice(local[0].length).split('/').pop() ?? '';
    const name = (base.split(':')[0] ?? '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '') || 'image';
    return new PackageURL('oci', undefined, name, artifact.digest, arch ? { arch } : undefined).toString();
  }
  let ref: ReturnType<typeof parseImageReference>;
  try {
    ref = parseImageReference(artifact.name);
  } catch (err) {
    throw new SbomError(`artifact name ${JSON.stringify(artifact.name)} is not an image reference`, { cause: err });
  }
  const explicitRegistry = ref.registry !== 'docker.io' || artifact.name.startsWith('docker.io/');
  const qualifiers: Record<string, string> = {};
  if (arch) qualifiers['arch'] = arch;
  if (explicitRegistry) qualifiers['repository_url'] = `${ref.registry}/${ref.name}`;
  if (ref.tag) qualifiers['tag'] = ref.tag;
  const name = ref.name.slice(ref.name.lastIndexOf('/') + 1);
  return new PackageURL('oci', undefined, name, artifact.digest, qualifiers).toString();
}

/** The properties berth records about a package, in the order above; absent facts are left out. */
export function packageProperties(pkg: Package): [string, string][] {
  const props: [string, string | undefined][] = [
    ['berth:package:type', pkg.type],
    ['berth:package:path', pkg.path],
    ['berth:package:layer', pkg.layer],
    ['berth:package:src-name', pkg.source?.name],
    ['berth:package:src-version', pkg.source?.version],
    ['berth:package:arch', pkg.arch],
  ];
  return props.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The key of one package at one path. */
export function packageKey(pkg: Package): string {
  return `${pkg.purl}\u0000${pkg.path}`;
}

/**
 * The scan's packages and those its findings name, each (purl, path) once,
 * ordered by purl then path: the order both SBOMs list them in.
 */
export function sbomPackages(result: ScanResult): Package[] {
  const seen = new Set<string>();
  const out: Package[] = [];
  for (const pkg of [...result.packages, ...result.findings.map((f) => f.package)]) {
    const key = packageKey(pkg);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pkg);
  }
  return out.sort((a, b) => compareText(a.purl, b.purl) || compareText(a.path, b.path));
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** `text` when it is an RFC 3339 timestamp, else the date it parses to in that form, else undefined. */
export function rfc3339(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return undefined;
  return RFC3339.test(text) ? text : isoSeconds(date);
}

/** An absolute http(s) URL in its ASCII form, or undefined for anything else. */
export function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
