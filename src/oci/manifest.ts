import { Digest } from './digest.js';
import { MediaType, IMAGE_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES, baseMediaType, isValidMediaType } from './media-type.js';

/** OCI image-spec "Descriptor": the fields berth relies on; others are kept in the raw bytes. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A validated image manifest or index. `bytes` are the exact bytes pushed. */
export interface ParsedManifest {
  mediaType: string;
  kind: 'manifest' | 'index';
  config?: Descriptor;
  layers: Descriptor[];
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class ManifestParseError extends Error {}

const fail = (msg: string): never => {
  throw new ManifestParseError(msg);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseAnnotations(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail(`${where}.annotations must be an object of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') fail(`${where}.annotations[${JSON.stringify(k)}] must be a string`);
  }
  return v as Record<string, string>;
}

function parsePlatform(v: unknown, where: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail(`${where}.platform must be an object`);
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') {
    fail(`${where}.platform needs string architecture and os`);
  }
  if (v.variant !== undefined && typeof v.variant !== 'string') fail(`${where}.platform.variant must be a string`);
  return v as unknown as Platform;
}

/** image-spec descriptor.md: mediaType, digest and size are REQUIRED. */
export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) return fail(`${where} must be an object`);
  if (!isValidMediaType(v.mediaType)) fail(`${where}.mediaType must be a media type`);
  if (typeof v.digest !== 'string') fail(`${where}.digest must be a string`);
  // Registered algorithms are checked strictly; a grammar-valid digest of an unregistered one passes
  // validation, as image-spec descriptor.md asks (such content can only be unknown to this registry).
  const d = v.digest as string;
  const registered = d.startsWith('sha256:') || d.startsWith('sha512:');
  if (registered || !Digest.matchesGrammar(d)) {
    try {
      Digest.parse(d);
    } catch (e) {
      fail(`${where}.digest: ${(e as Error).message}`);
    }
  }
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    fail(`${where}.size must be a non-negative integer`);
  }
  if (v.artifactType !== undefined && !isValidMediaType(v.artifactType)) fail(`${where}.artifactType must be a media type`);
  if (v.urls !== undefined && (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string'))) {
    fail(`${where}.urls must be an array of strings`);
  }
  return {
    mediaType: v.mediaType as string,
    digest: v.digest as string,
    size: v.size as number,
    artifactType: v.artifactType as string | undefined,
    annotations: parseAnnotations(v.annotations, where),
    platform: parsePlatform(v.platform, where),
  };
}

/**
 * Parses manifest bytes pushed with `contentType` (may be empty). Strict on what
 * the image-spec requires, tolerant of extra fields (image-spec "Extensibility").
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    return fail(`not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) return fail('manifest must be a JSON object');
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') fail('mediaType must be a string');
  const header = contentType ? baseMediaType(contentType) : '';
  let mediaType: string;
  if (typeof declared === 'string' && declared !== '') {
    if (header && MANIFEST_TYPES.includes(header) && header !== declared) {
      fail(`Content-Type ${header} does not match the manifest's mediaType ${declared}`);
    }
    mediaType = declared;
  } else if (header && MANIFEST_TYPES.includes(header)) {
    mediaType = header;
  } else if (Array.isArray(doc.manifests)) {
    mediaType = MediaType.OciIndex;
  } else {
    mediaType = MediaType.OciManifest;
  }
  if (mediaType === MediaType.DockerSchema1 || mediaType === MediaType.DockerSchema1Signed || doc.schemaVersion === 1) {
    fail('Docker image manifest schema 1 is deprecated and not accepted; push schema 2 or OCI');
  }
  if (!MANIFEST_TYPES.includes(mediaType)) fail(`unsupported manifest media type ${mediaType}`);
  if (doc.schemaVersion !== 2) fail('schemaVersion must be 2');
  if (doc.artifactType !== undefined && !isValidMediaType(doc.artifactType)) fail('artifactType must be a media type');
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');
  const annotations = parseAnnotations(doc.annotations, 'manifest');

  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    if (doc.manifests !== undefined) fail('an image manifest must not have manifests');
    const config = parseDescriptor(doc.config, 'config');
    if (doc.layers !== undefined && !Array.isArray(doc.layers)) fail('layers must be an array');
    const layers = ((doc.layers as unknown[] | undefined) ?? []).map((l, i) => parseDescriptor(l, `layers[${i}]`));
    if (mediaType === MediaType.DockerManifest && !Array.isArray(doc.layers)) fail('layers is required');
    return {
      mediaType,
      kind: 'manifest',
      config,
      layers,
      manifests: [],
      subject,
      artifactType: doc.artifactType as string | undefined,
      annotations,
    };
  }
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) fail('manifests must be an array');
    if (doc.config !== undefined || doc.layers !== undefined) fail('an index must not have config or layers');
    const manifests = (doc.manifests as unknown[]).map((m, i) => parseDescriptor(m, `manifests[${i}]`));
    return {
      mediaType,
      kind: 'index',
      layers: [],
      manifests,
      subject,
      artifactType: doc.artifactType as string | undefined,
      annotations,
    };
  }
  return fail(`unsupported manifest media type ${mediaType}`);
}

/**
 * The artifactType a referrers response reports (distribution-spec "Listing Referrers"):
 * the manifest's artifactType, else its config's mediaType (image manifests only).
 */
export function effectiveArtifactType(m: ParsedManifest): string | undefined {
  if (m.artifactType) return m.artifactType;
  if (m.kind === 'manifest' && m.config) return m.config.mediaType;
  return undefined;
}
