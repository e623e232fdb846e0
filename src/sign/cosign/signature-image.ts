/*
 * cosign's tag-based storage (specs/SIGNATURE_SPEC.md "Tag-based Discovery"): the signatures of
 * image `sha256:H` live in an OCI image tagged `sha256-H.sig`, its attestations in `sha256-H.att`
 * (pkg/oci/remote/write.go `normalize`). Each signature is one layer:
 *  - `.sig`: the simple signing payload, media type application/vnd.dev.cosign.simplesigning.v1+json,
 *    annotation dev.cosignproject.cosign/signature = base64 signature;
 *  - `.att`: the DSSE envelope, media type application/vnd.dsse.envelope.v1+json, annotations
 *    dev.cosignproject.cosign/signature = "" and predicateType = the predicate URI
 *    (cmd/cosign/cli/attest/attest.go).
 * The image is go-containerregistry's empty image with the layers appended (pkg/oci/empty,
 * pkg/oci/mutate/signatures.go): an OCI manifest whose config is
 * {"architecture":"","created":T,"history":[{"created":"0001-01-01T00:00:00Z"} per layer],"os":"",
 *  "rootfs":{"type":"layers","diff_ids":[layer digests]},"config":{}}, T being the zero time unless
 * --record-creation-timestamp. Adding a signature rewrites the image with one more layer; cosign's
 * DupeDetector skips a signature that is already there.
 */
import { Digest } from '../../oci/digest.js';
import { parseManifest, type Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-type.js';
import { CosignFormatError } from './errors.js';
import { goJson, type GoStruct } from './go-json.js';
import type { CosignPublicKey } from './keys.js';
import { blobOf, manifestJson, type Blob, type ManifestToPush } from './oci-json.js';
import { DSSE_ENVELOPE_MEDIA_TYPE } from './dsse.js';
import { SIMPLE_SIGNING_MEDIA_TYPE } from './simple-signing.js';
import { verifyBytes } from './signature.js';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** cosign images hold a handful of signatures; more layers than this is refused. */
export const MAX_SIGNATURE_LAYERS = 1000;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** `sha256-<hex>.sig` for an image digest. Throws DigestParseError. */
export function signatureTag(imageDigest: string): string {
  return tagFor(imageDigest, 'sig');
}

/** `sha256-<hex>.att` for an image digest. Throws DigestParseError. */
export function attestationTag(imageDigest: string): string {
  return tagFor(imageDigest, 'att');
}

function tagFor(imageDigest: string, suffix: string): string {
  const d = Digest.parse(imageDigest);
  return `${d.algorithm}-${d.hex}.${suffix}`;
}

/** A `.sig` layer: the payload blob annotated with its base64 signature (plus e.g. certificate annotations). */
export function signatureLayer(payload: Uint8Array, signature: Uint8Array, extraAnnotations: Record<string, string> = {}): Blob {
  return blobOf(payload, SIMPLE_SIGNING_MEDIA_TYPE, { ...extraAnnotations, [SIGNATURE_ANNOTATION]: Buffer.from(signature).toString('base64') });
}

/** A `.att` layer: the DSSE envelope JSON with the empty signature annotation and the predicate type. */
export function attestationLayer(envelopeJson: Uint8Array, predicateType: string): Blob {
  return blobOf(envelopeJson, DSSE_ENVELOPE_MEDIA_TYPE, { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: predicateType });
}

/** The image currently at a `.sig`/`.att` tag: manifest bytes and its config blob bytes. */
export interface StoredSignatureImage {
  manifest: Uint8Array;
  config: Uint8Array;
}

export interface AppendResult {
  /** What to push: the config blob and the new layer's blob, then the manifest to the tag. */
  image: ManifestToPush;
  /** False when an equal signature was already there; the image is then the stored one, unchanged. */
  added: boolean;
}

/**
 * Adds a signature or attestation layer to the image at a `.sig`/`.att` tag (a new image when
 * `existing` is undefined), keeping every earlier layer and its annotations. A layer is a duplicate
 * (nothing added) when one with the same digest and signature annotation is there, or, given
 * `publicKey`, one with the same payload whose signature verifies with that key (cosign's
 * DupeDetector). Throws CosignFormatError when the stored image is not one cosign could have written.
 */
export function appendSignatureLayer(existing: StoredSignatureImage | undefined, layer: Blob, publicKey?: CosignPublicKey): AppendResult {
  const base = existing ? readStored(existing) : newImage();
  const duplicate = base.layers.some((l) => isDuplicate(l, layer, publicKey));
  if (duplicate && existing) {
    const manifest = Buffer.from(existing.manifest);
    return { image: { manifest, digest: Digest.fromBytes(manifest).toString(), mediaType: base.manifestMediaType, blobs: [] }, added: false };
  }
  if (base.layers.length >= MAX_SIGNATURE_LAYERS) throw new CosignFormatError(`the signature image already has ${MAX_SIGNATURE_LAYERS} layers`);
  const config = { ...base.config, diffIds: [...base.config.diffIds, layer.descriptor.digest], history: [...base.config.history, { created: ZERO_TIME }] };
  return { image: render(base.manifestMediaType, base.configMediaType, config, [...base.layers, layer.descriptor], [layer]), added: true };
}

function isDuplicate(existing: Descriptor, layer: Blob, publicKey: CosignPublicKey | undefined): boolean {
  if (existing.digest !== layer.descriptor.digest || existing.mediaType !== layer.descriptor.mediaType) return false;
  const stored = existing.annotations?.[SIGNATURE_ANNOTATION];
  if (stored === layer.descriptor.annotations?.[SIGNATURE_ANNOTATION]) return true;
  if (!publicKey || stored === undefined || stored === '') return false;
  return verifyBytes(publicKey, layer.bytes, Buffer.from(stored, 'base64'));
}

/** go-containerregistry ConfigFile fields a signature image has. */
interface SignatureConfig {
  architecture: string;
  created: string;
  history: GoStruct[];
  os: string;
  diffIds: string[];
}

interface BaseImage {
  manifestMediaType: string;
  configMediaType: string;
  config: SignatureConfig;
  layers: Descriptor[];
}

function newImage(): BaseImage {
  return {
    manifestMediaType: MediaType.OciManifest,
    configMediaType: MediaType.OciConfig,
    config: { architecture: '', created: ZERO_TIME, history: [], os: '', diffIds: [] },
    layers: [],
  };
}

function readStored(stored: StoredSignatureImage): BaseImage {
  let m;
  try {
    m = parseManifest(stored.manifest, undefined);
  } catch (e) {
    throw new CosignFormatError(`stored signature manifest: ${(e as Error).message}`);
  }
  if (m.kind !== 'manifest' || !m.config) throw new CosignFormatError('stored signature manifest is an index, not an image manifest');
  if (m.layers.length > MAX_SIGNATURE_LAYERS) throw new CosignFormatError(`stored signature manifest has more than ${MAX_SIGNATURE_LAYERS} layers`);
  if (stored.config.length > MAX_CONFIG_BYTES) throw new CosignFormatError('stored signature config is too large');
  if (Digest.fromBytes(stored.config).toString() !== m.config.digest) throw new CosignFormatError('stored signature config does not match the manifest config digest');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(stored.config).toString('utf8'));
  } catch {
    throw new CosignFormatError('stored signature config is not JSON');
  }
  const c = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const rootfs = (c.rootfs ?? {}) as Record<string, unknown>;
  const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids.filter((d): d is string => typeof d === 'string') : [];
  const history = Array.isArray(c.history) ? c.history.map(historyEntry) : [];
  return {
    manifestMediaType: m.mediaType,
    configMediaType: m.config.mediaType,
    config: {
      architecture: typeof c.architecture === 'string' ? c.architecture : '',
      created: typeof c.created === 'string' ? c.created : ZERO_TIME,
      history,
      os: typeof c.os === 'string' ? c.os : '',
      diffIds,
    },
    layers: m.layers,
  };
}

/** go-containerregistry v1.History field order; `created` is a struct in Go, so it is always written. */
function historyEntry(h: unknown): GoStruct {
  const e = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    author: str(e.author),
    created: str(e.created) ?? ZERO_TIME,
    created_by: str(e.created_by),
    comment: str(e.comment),
    empty_layer: e.empty_layer === true ? true : undefined,
  };
}

function render(manifestMediaType: string, configMediaType: string, c: SignatureConfig, layers: Descriptor[], newBlobs: Blob[]): ManifestToPush {
  const configBytes = goJson({
    architecture: c.architecture,
    created: c.created,
    history: c.history.length > 0 ? c.history : undefined,
    os: c.os,
    rootfs: { type: 'layers', diff_ids: c.diffIds },
    config: {},
  });
  const config = blobOf(configBytes, configMediaType);
  const manifest = manifestJson({ mediaType: manifestMediaType, config: config.descriptor, layers });
  return { manifest, digest: Digest.fromBytes(manifest).toString(), mediaType: manifestMediaType, blobs: [config, ...newBlobs] };
}
