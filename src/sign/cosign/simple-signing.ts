/*
 * The "simple signing" payload cosign signs for an image (cosign specs/SIGNATURE_SPEC.md "Simple
 * Signing"; containers/image docs/containers-signature.5.md). Bytes are those of
 * sigstore/sigstore pkg/signature/payload `Cosign.MarshalJSON`: json.Marshal of
 * {critical:{identity:{docker-reference},image:{docker-manifest-digest},type},optional}, where
 * `optional` is the `-a key=value` annotations map, or null when there are none.
 */
import { Digest } from '../../oci/digest.js';
import { CosignFormatError } from './errors.js';
import { goJson, goMapsOf, GoMap } from './go-json.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** `critical.type` of every cosign image signature. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
/** Payloads are a few hundred bytes; anything beyond this is refused before parsing. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The parsed payload, as `cosign verify` prints it. */
export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

export interface SimpleSigningInput {
  /** The repository as cosign names it: registry host and path, e.g. "registry.example.com/team/app". */
  dockerReference: string;
  /** The signed image manifest's digest. */
  manifestDigest: string;
  /** `cosign sign -a key=value` claims; written under "optional" (null when absent or empty). */
  annotations?: Readonly<Record<string, unknown>>;
}

/** The payload bytes cosign would sign. Throws CosignFormatError for an invalid digest or annotation values JSON cannot hold. */
export function simpleSigningPayload(input: SimpleSigningInput): Buffer {
  const digest = Digest.tryParse(input.manifestDigest);
  if (!digest) throw new CosignFormatError(`not a manifest digest: ${JSON.stringify(input.manifestDigest.slice(0, 80))}`);
  const annotations = input.annotations && Object.keys(input.annotations).length > 0 ? input.annotations : undefined;
  return goJson({
    critical: {
      identity: { 'docker-reference': input.dockerReference },
      image: { 'docker-manifest-digest': digest.toString() },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: annotations ? (goMapsOf(annotations) as GoMap) : null,
  });
}

/**
 * Parses payload bytes. Field names match case-insensitively after an exact match, as Go's
 * json.Unmarshal does (cosign before 1.0 wrote "Critical", "Docker-manifest-digest").
 * Throws CosignFormatError naming the missing or mistyped field.
 */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  if (bytes.length > MAX_PAYLOAD_BYTES) throw new CosignFormatError(`payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CosignFormatError('payload is not JSON');
  }
  const critical = objectField(doc, 'critical', 'payload');
  const reference = stringField(objectField(critical, 'identity', 'critical'), 'docker-reference', 'critical.identity');
  const digest = stringField(objectField(critical, 'image', 'critical'), 'docker-manifest-digest', 'critical.image');
  const type = stringField(critical, 'type', 'critical');
  const optional = field(doc, 'optional');
  if (optional !== undefined && optional !== null && !isRecord(optional)) throw new CosignFormatError('payload.optional must be an object or null');
  return {
    critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type },
    optional: (optional as Record<string, unknown> | null | undefined) ?? null,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: unknown, name: string): unknown {
  if (!isRecord(obj)) return undefined;
  if (Object.hasOwn(obj, name)) return obj[name];
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

function objectField(obj: unknown, name: string, where: string): Record<string, unknown> {
  const v = field(obj, name);
  if (!isRecord(v)) throw new CosignFormatError(`${where}.${name} must be an object`);
  return v;
}

function stringField(obj: unknown, name: string, where: string): string {
  const v = field(obj, name);
  if (typeof v !== 'string') throw new CosignFormatError(`${where}.${name} must be a string`);
  return v;
}
