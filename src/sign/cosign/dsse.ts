/*
 * DSSE envelopes (secure-systems-lab/dsse protocol.md "Signature definition"):
 * the signature covers PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
 * lengths in ASCII decimal byte counts. cosign's `attest` writes the envelope with
 * sigstore/sigstore pkg/signature/dsse WrapSigner: json.Marshal of go-securesystemslib's
 * Envelope {payloadType, payload (base64), signatures: [{keyid: "", sig (base64)}]}.
 */
import { CosignFormatError } from './errors.js';
import { goJson } from './go-json.js';
import type { CosignPrivateKey, CosignPublicKey } from './keys.js';
import { signBytes, verifyBytes } from './signature.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Media type of a `.att` layer (cosign pkg/types DssePayloadType). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;
const MAX_SIGNATURES = 16;

export interface DsseSignature {
  keyid: string;
  sig: Buffer;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: DsseSignature[];
}

/** DSSE's pre-authentication encoding. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Signs `payload` into a one-signature envelope, as cosign's DSSE signer does. */
export function signDsse(key: CosignPrivateKey, payloadType: string, payload: Uint8Array): DsseEnvelope {
  return { payloadType, payload: Buffer.from(payload), signatures: [{ keyid: '', sig: signBytes(key, pae(payloadType, payload)) }] };
}

/** The envelope JSON bytes cosign writes (the `.att` layer blob). */
export function dsseEnvelopeJson(envelope: DsseEnvelope): Buffer {
  return goJson({
    payloadType: envelope.payloadType,
    payload: envelope.payload.toString('base64'),
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
  });
}

/** True when one of the envelope's signatures verifies over PAE with `key`. Never throws. */
export function verifyDsse(envelope: DsseEnvelope, key: CosignPublicKey): boolean {
  const message = pae(envelope.payloadType, envelope.payload);
  return envelope.signatures.some((s) => verifyBytes(key, message, s.sig));
}

/** Parses envelope JSON. Throws CosignFormatError naming the missing or malformed field. */
export function parseDsseEnvelope(bytes: Uint8Array): DsseEnvelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new CosignFormatError(`DSSE envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CosignFormatError('DSSE envelope is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CosignFormatError('DSSE envelope must be a JSON object');
  const { payloadType, payload, signatures } = doc as Record<string, unknown>;
  if (typeof payloadType !== 'string') throw new CosignFormatError('DSSE envelope payloadType must be a string');
  if (!Array.isArray(signatures) || signatures.length === 0) throw new CosignFormatError('DSSE envelope has no signatures');
  if (signatures.length > MAX_SIGNATURES) throw new CosignFormatError(`DSSE envelope has more than ${MAX_SIGNATURES} signatures`);
  return {
    payloadType,
    payload: base64(payload, 'payload'),
    signatures: signatures.map((s: unknown, i) => {
      const { keyid, sig } = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
      if (keyid !== undefined && keyid !== null && typeof keyid !== 'string') throw new CosignFormatError(`DSSE signatures[${i}].keyid must be a string`);
      return { keyid: keyid ?? '', sig: base64(sig, `signatures[${i}].sig`) };
    }),
  };
}

/** DSSE allows standard or URL-safe base64 (protocol.md "Base64()"). */
function base64(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw new CosignFormatError(`DSSE envelope ${name} must be base64`);
  return Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
}
