/*
 * A scan as an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/),
 * valid against the official SPDX 2.3 JSON schema (test/fixtures/schemas).
 *
 * - The image is a package with primaryPackagePurpose CONTAINER, its manifest
 *   digest as versionInfo and its `oci` purl; the document DESCRIBES it;
 * - the operating system is a package with purpose OPERATING-SYSTEM;
 * - every package found is a package (purpose LIBRARY) the image CONTAINS,
 *   with its purl as a PACKAGE-MANAGER external reference, filesAnalyzed
 *   false (berth lists no files), downloadLocation NOASSERTION, and the
 *   `berth:package:*` facts of common.ts as annotations ("name: value");
 * - SPDXIDs are `SPDXRef-Package-<name>-<version>` reduced to the idstring
 *   characters (letters, digits, `.`, `-`), with `-2`, `-3`, ... added when
 *   two packages reduce to the same ID.
 *
 * Licenses: berth reads what packages declare and concludes nothing, so
 * licenseConcluded is always NOASSERTION. licenseDeclared is NOASSERTION when
 * nothing is declared, else the declared strings joined with AND: each one
 * that is a valid SPDX expression over the SPDX License List as itself, each
 * other one as a `LicenseRef-<text reduced to idstring>` defined once in
 * hasExtractedLicensingInfos with the declared text (SPDX 2.3 section 10).
 */
import { randomUUID } from 'node:crypto';
import type { Package, ScanResult } from '../types.js';
import { imagePurl, isoSeconds, packageProperties, sbomPackages, SbomError } from './common.js';
import { asOperand, classifyLicense } from './license.js';
import { SPDX_LICENSE_LIST_VERSION } from './spdx-license-list.js';

/** What a document records besides the scan. */
export interface SpdxOptions {
  /** The document's creation time; default: now. */
  now?: Date;
  /** An absolute URI without `#`, unique to this document; default: under https://spdx.org/spdxdocs/ with a random UUID. */
  documentNamespace?: string;
  /** berth's version, recorded as the creator `Tool: berth-<version>`. */
  toolVersion: string;
}

type Json = Record<string, unknown>;

const NOASSERTION = 'NOASSERTION';
/** The longest part of an SPDXID or LicenseRef taken from a package's own strings. */
const MAX_ID_PART = 64;

/** `text` reduced to SPDX idstring characters, at most MAX_ID_PART long; `fallback` when nothing is left. */
function idstring(text: string, fallback: string): string {
  const s = text
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ID_PART);
  return s === '' ? fallback : s;
}

/** Hands out IDs unique within one document, numbering repeats `-2`, `-3`, ... */
class UniqueIds {
  private readonly used = new Set<string>();

  take(base: string): string {
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}-${n}`;
    this.used.add(id);
    return id;
  }
}

/** The declared licenses of every package, with the LicenseRefs the unknown ones need, defined once each. */
class DeclaredLicenses {
  private readonly refs = new Map<string, string>();
  private readonly ids = new UniqueIds();

  /** licenseDeclared for one package. */
  declared(pkg: Package): string {
    const operands = [...new Set((pkg.licenses ?? []).filter((l) => l.trim() !== ''))].map((raw) => {
      const c = classifyLicense(raw);
      if (c.kind === 'id') return c.id;
      if (c.kind === 'expression') return c.expression;
      return this.ref(raw);
    });
    const unique = [...new Set(operands)];
    if (unique.length === 0) return NOASSERTION;
    return unique.length === 1 ? (unique[0] as string) : unique.map(asOperand).join(' AND ');
  }

  private ref(raw: string): string {
    let ref = this.refs.get(raw);
    if (ref === undefined) {
      ref = this.ids.take(`LicenseRef-${idstring(raw, 'unknown')}`);
      this.refs.set(raw, ref);
    }
    return ref;
  }

  /** hasExtractedLicensingInfos: one entry per LicenseRef handed out, in the order they were. */
  extracted(): Json[] {
    return [...this.refs].map(([text, licenseId]) => ({ licenseId, extractedText: text, name: text }));
  }
}

function purlRef(purl: string): Json {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl };
}

/** A document namespace must be an absolute URI and must not contain "#" (SPDX 2.3 section 6.5). */
function checkNamespace(uri: string): string {
  let ok = !uri.includes('#');
  try {
    new URL(uri);
  } catch {
    ok = false;
  }
  if (!ok) throw new SbomError(`document namespace ${JSON.stringify(uri)} is not an absolute URI without "#"`);
  return uri;
}

/**
 * The SPDX document of one scan. Deterministic for fixed `now` and
 * `documentNamespace`. Throws SbomError for an invalid `now` or
 * `documentNamespace`, or an artifact name that is not an image reference.
 */
export function spdxDocument(result: ScanResult, opts: SpdxOptions): Json {
  const { artifact, os } = result;
  const created = isoSeconds(opts.now ?? new Date());
  const namespace = checkNamespace(
    opts.documentNamespace ?? `https://spdx.org/spdxdocs/berth-${idstring(artifact.name, 'image')}-${randomUUID()}`,
  );
  const annotation = (comment: string): Json => ({
    annotator: `Tool: berth-${opts.toolVersion}`,
    annotationDate: created,
    annotationType: 'OTHER',
    comment,
  });
  const ids = new UniqueIds();
  const licenses = new DeclaredLicenses();

  const image: Json = {
    SPDXID: ids.take('SPDXRef-Image'),
    name: artifact.name,
    versionInfo: artifact.digest,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    externalRefs: [purlRef(imagePurl(artifact))],
    primaryPackagePurpose: 'CONTAINER',
  };
  const packages: Json[] = [image];
  const relationships: Json[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relatedSpdxElement: image['SPDXID'], relationshipType: 'DESCRIBES' },
  ];
  const contains = (spdxId: unknown): void => {
    relationships.push({ spdxElementId: image['SPDXID'], relatedSpdxElement: spdxId, relationshipType: 'CONTAINS' });
  };

  if (os) {
    const osPackage: Json = {
      SPDXID: ids.take('SPDXRef-OperatingSystem'),
      name: os.id,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    };
    if (os.versionId) osPackage['versionInfo'] = os.versionId;
    if (os.prettyName) osPackage['description'] = os.prettyName;
    packages.push(osPackage);
    contains(osPackage['SPDXID']);
  }

  for (const pkg of sbomPackages(result)) {
    const spdxId = ids.take(`SPDXRef-Package-${idstring(`${pkg.name}-${pkg.version}`, 'package')}`);
    packages.push({
      SPDXID: spdxId,
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: licenses.declared(pkg),
      externalRefs: [purlRef(pkg.purl)],
      primaryPackagePurpose: 'LIBRARY',
      annotations: packageProperties(pkg).map(([name, value]) => annotation(`${name}: ${value}`)),
    });
    contains(spdxId);
  }

  const doc: Json = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: artifact.name,
    documentNamespace: namespace,
    creationInfo: {
      created,
      creators: [`Tool: berth-${opts.toolVersion}`],
      licenseListVersion: SPDX_LICENSE_LIST_VERSION,
    },
    packages,
    relationships,
  };
  const extracted = licenses.extracted();
  if (extracted.length > 0) doc['hasExtractedLicensingInfos'] = extracted;
  return doc;
}
