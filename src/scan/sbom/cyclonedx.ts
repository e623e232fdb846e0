/*
 * A scan as a CycloneDX 1.6 JSON BOM (https://cyclonedx.org/docs/1.6/json/),
 * valid against the official bom-1.6.schema.json (test/fixtures/schemas).
 *
 * - metadata.component: the image, type `container`, named as scanned, with
 *   the manifest digest as its version and an `oci` package URL;
 * - components: the operating system (type `operating-system`) and every
 *   package (type `library`), each package with its purl, declared licenses
 *   and the `berth:package:*` properties listed in common.ts. A package's
 *   bom-ref is its purl; when one purl was found at several paths, each
 *   occurrence's bom-ref is `<purl>#<path>`;
 * - dependencies: the image depends on the OS and the language packages, the
 *   OS on its packages (how Trivy draws the same graph);
 * - vulnerabilities (only when there are findings): one per vulnerability ID,
 *   affecting every package it was found in, rated with the CVSS vector its
 *   severity came from, sourced from OSV (berth's advisory database), with its
 *   aliases as `references` and its reference URLs as `advisories`.
 *
 * Licenses: a listed SPDX identifier becomes `license.id`, any other valid
 * SPDX expression an `expression`, anything else `license.name`; CycloneDX
 * allows one expression or a list of licenses, so a package declaring an
 * expression and a name gets names only.
 */
import { randomUUID } from 'node:crypto';
import { advisoryUrl, isOsPackage } from '../report/targets.js';
import { severityRank, type Finding, type Package, type ScanResult } from '../types.js';
import { httpUrl, imagePurl, isoSeconds, packageKey, packageProperties, rfc3339, sbomPackages, SbomError } from './common.js';
import { asOperand, classifyLicense } from './license.js';

/** What a BOM records besides the scan. */
export interface CycloneDxOptions {
  /** The BOM's timestamp; default: now. */
  now?: Date;
  /** `urn:uuid:<uuid>` (RFC 4122, lower case); default: a random UUID. */
  serialNumber?: string;
  /** berth's version, recorded as the tool that wrote the BOM. */
  toolVersion: string;
}

type Json = Record<string, unknown>;

const SERIAL_NUMBER = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** CycloneDX `licenses` for the strings a package declares; undefined when it declares none. */
export function cycloneDxLicenses(declared: readonly string[] | undefined): Json[] | undefined {
  const raws = [...new Set((declared ?? []).filter((l) => l.trim() !== ''))];
  if (raws.length === 0) return undefined;
  const choices = raws.map(classifyLicense);
  if (choices.some((c) => c.kind === 'expression')) {
    const operands = choices.map((c) => (c.kind === 'id' ? c.id : c.kind === 'expression' ? c.expression : undefined));
    if (operands.every((o) => o !== undefined)) {
      const unique = [...new Set(operands)];
      const expression = unique.length === 1 ? (unique[0] as string) : unique.map(asOperand).join(' AND ');
      return [{ expression, acknowledgement: 'declared' }];
    }
    return raws.map((name) => ({ license: { name, acknowledgement: 'declared' } }));
  }
  // "mit" and "MIT" are one license: the list must not repeat an entry (uniqueItems).
  const licenses = new Map<string, Json>();
  choices.forEach((c, i) => {
    const license = c.kind === 'id' ? { id: c.id } : { name: raws[i] as string };
    licenses.set(JSON.stringify(license), { license: { ...license, acknowledgement: 'declared' } });
  });
  return [...licenses.values()];
}

/** bom-refs for the packages: the purl, or `<purl>#<path>` when the purl occurs at more than one path. */
function packageRefs(packages: readonly Package[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const p of packages) count.set(p.purl, (count.get(p.purl) ?? 0) + 1);
  const refs = new Map<string, string>();
  const used = new Set<string>();
  for (const p of packages) {
    let ref = (count.get(p.purl) ?? 0) > 1 ? `${p.purl}#${p.path}` : p.purl;
    for (let n = 2; used.has(ref); n++) ref = `${p.purl}#${p.path}#${n}`;
    used.add(ref);
    refs.set(packageKey(p), ref);
  }
  return refs;
}

function component(pkg: Package, ref: string): Json {
  const c: Json = { type: 'library', 'bom-ref': ref, name: pkg.name, version: pkg.version, purl: pkg.purl };
  const licenses = cycloneDxLicenses(pkg.licenses);
  if (licenses) c['licenses'] = licenses;
  c['properties'] = packageProperties(pkg).map(([name, value]) => ({ name, value }));
  return c;
}

/** CycloneDX's scoring method for a CVSS vector. */
function scoreMethod(vector: string): string {
  if (vector.startsWith('CVSS:3.1/')) return 'CVSSv31';
  if (vector.startsWith('CVSS:3.0/')) return 'CVSSv3';
  if (vector.startsWith('CVSS:4.0/')) return 'CVSSv4';
  return 'other';
}

function rating(f: Finding): Json {
  const r: Json = {};
  if (f.score !== undefined) r['score'] = f.score;
  r['severity'] = f.severity.toLowerCase();
  if (f.cvssVector !== undefined) {
    r['method'] = scoreMethod(f.cvssVector);
    r['vector'] = f.cvssVector;
  }
  return r;
}

const osvSource = (id: string): Json => ({ name: 'OSV', url: advisoryUrl(id) });

/** One vulnerability for every finding of one ID; `findings` is sorted worst first and never empty. */
function vulnerability(findings: readonly Finding[], refOf: (pkg: Package) => string): Json {
  const worst = findings[0] as Finding;
  const aliases = [...new Set(findings.flatMap((f) => f.aliases))].filter((a) => a !== worst.id).sort();
  const advisories = [...new Set(findings.flatMap((f) => f.references).map(httpUrl))].filter((u): u is string => u !== undefined);
  const upgrades = [...new Set(findings.filter((f) => f.fixedVersion !== undefined).map((f) => `Upgrade ${f.package.name} to ${f.fixedVersion}`))];
  const affects = new Map<string, Set<string>>();
  for (const f of findings) {
    const ref = refOf(f.package);
    affects.set(ref, (affects.get(ref) ?? new Set()).add(f.installedVersion));
  }
  const v: Json = {
    'bom-ref': `vulnerability:${worst.id}`,
    id: worst.id,
    source: osvSource(worst.id),
  };
  if (aliases.length > 0) v['references'] = aliases.map((id) => ({ id, source: osvSource(id) }));
  v['ratings'] = [rating(worst)];
  const description = worst.description ?? worst.title;
  if (description !== undefined) v['description'] = description;
  if (upgrades.length > 0) v['recommendation'] = upgrades.sort().join('; ');
  if (advisories.length > 0) v['advisories'] = advisories.map((url) => ({ url }));
  const published = rfc3339(worst.published);
  const updated = rfc3339(worst.modified);
  if (published !== undefined) v['published'] = published;
  if (updated !== undefined) v['updated'] = updated;
  v['affects'] = [...affects.keys()].sort().map((ref) => ({
    ref,
    versions: [...(affects.get(ref) as Set<string>)].sort().map((version) => ({ version, status: 'affected' })),
  }));
  return v;
}

function vulnerabilities(findings: readonly Finding[], refOf: (pkg: Package) => string): Json[] {
  const byId = new Map<string, Finding[]>();
  for (const f of findings) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  return [...byId.keys()].sort().map((id) => {
    const group = (byId.get(id) as Finding[]).sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
    return vulnerability(group, refOf);
  });
}

/**
 * The BOM of one scan. Deterministic for fixed `now` and `serialNumber`.
 * Throws SbomError for a malformed `serialNumber`, an invalid `now`, or an
 * artifact name that is not an image reference.
 */
export function cycloneDxBom(result: ScanResult, opts: CycloneDxOptions): Json {
  const serialNumber = opts.serialNumber ?? `urn:uuid:${randomUUID()}`;
  if (!SERIAL_NUMBER.test(serialNumber)) {
    throw new SbomError(`serial number ${JSON.stringify(serialNumber)} is not urn:uuid:<lower-case RFC 4122 UUID>`);
  }
  const imageRef = imagePurl(result.artifact);
  const packages = sbomPackages(result);
  const refs = packageRefs(packages);
  const refOf = (pkg: Package): string => refs.get(packageKey(pkg)) as string;
  const osRef = result.os ? `os:${result.os.id}${result.os.versionId ? `@${result.os.versionId}` : ''}` : undefined;

  const components: Json[] = [];
  if (result.os && osRef) {
    const os: Json = { type: 'operating-system', 'bom-ref': osRef, name: result.os.id };
    if (result.os.versionId) os['version'] = result.os.versionId;
    if (result.os.prettyName) os['description'] = result.os.prettyName;
    components.push(os);
  }
  components.push(...packages.map((p) => component(p, refOf(p))));

  const osPackages = packages.filter(isOsPackage).map(refOf);
  const others = packages.filter((p) => !isOsPackage(p)).map(refOf);
  const dependencies: Json[] = [{ ref: imageRef, dependsOn: osRef ? [osRef, ...others] : [...osPackages, ...others] }];
  if (osRef) dependencies.push({ ref: osRef, dependsOn: osPackages });

  const bom: Json = {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber,
    version: 1,
    metadata: {
      timestamp: isoSeconds(opts.now ?? new Date()),
      tools: { components: [{ type: 'application', name: 'berth', version: opts.toolVersion }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: result.artifact.name,
        version: result.artifact.digest,
        purl: imageRef,
      },
    },
    components,
    dependencies,
  };
  if (result.findings.length > 0) bom['vulnerabilities'] = vulnerabilities(result.findings, refOf);
  return bom;
}
