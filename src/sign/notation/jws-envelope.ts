/*
 * The Notary Project JWS envelope (specs/signature-envelope-jws.md): a flattened JWS JSON
 * serialization `{payload, protected, header, signature}` whose payload is
 * `{"targetArtifact": <descriptor>}` (signature-specification.md "Payload").
 *
 * Protected headers: alg (from the signing key: PS256/384/512, ES256/384/512), cty, crit,
 * io.cncf.notary.signingScheme, io.cncf.notary.signingTime (notary.x509) or
 * io.cncf.notary.authenticSigningTime (notary.x509.signingAuthority), optional
 * io.cncf.notary.expiry. `crit` lists exactly signingScheme, plus expiry and authenticSigningTime
 * when present; any other critical header is unknown to this implementation and fails
 * verification (signature-specification.md "Extended attributes"), which includes the plugin
 * headers: berth runs no verification plugins. Unprotected headers: x5c (leaf first) and
 * io.cncf.notary.signingAgent; an RFC 3161 io.cncf.notary.timestampSignature is carried through
 * but not verified.
 *
 * jose's FlattenedSign/flattenedVerify express this envelope exactly (crit parameters declared as
 * recognized, protected header written in the key order given), so the JWS itself is jose's; the
 * Notary rules around it are here.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { FlattenedSign, flattenedVerify } from 'jose';
import { parseDescriptor, type Descriptor } from '../../oci/manifest.js';
import { CertificateError, SignatureEnvelopeError } from './errors.js';
import { parseCertificate, type NotationCertificate } from './certificate.js';
import { MAX_CHAIN_LENGTH, signatureAlgorithmFor, validateCodeSigningChain, type NotationAlgorithm } from './certificate-chain.js';
import { Header, NotationMediaType, SigningScheme, type SigningSchemeName } from './media-types.js';

/** Envelopes are a few kilobytes (a chain and maybe a timestamp token); refuse absurd ones early. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;
const DEFAULT_SIGNING_AGENT = 'berth';
const ALGORITHMS: readonly NotationAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const ENVELOPE_MEMBERS = new Set(['payload', 'protected', 'header', 'signature']);
/** Critical headers this implementation understands; `true`: must be integrity protected. */
const RECOGNIZED_CRIT = { [Header.SigningScheme]: true, [Header.Expiry]: true, [Header.AuthenticSigningTime]: true };
/** RFC 3339 date-time (section 5.6). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface SignJwsOptions {
  /** Private key of the signing (leaf) certificate. */
  key: KeyObject;
  /** DER certificates, leaf first, ending with the root. */
  chain: readonly Uint8Array[];
  /** Descriptor of the manifest being signed. */
  target: Descriptor;
  /** Defaults to now; truncated to whole seconds as notation does. */
  signingTime?: Date;
  /** Optional "best by use" time; must be after the signing time. */
  expiry?: Date;
  /** Unsigned, informational ("berth" by default). */
  signingAgent?: string;
}

export interface SignedEnvelope {
  bytes: Buffer;
  mediaType: typeof NotationMediaType.JwsEnvelope;
  signingTime: Date;
  certificateChain: NotationCertificate[];
}

/** What a verified envelope says. Only returned once its signature and chain are valid. */
export interface VerifiedEnvelope {
  targetArtifact: Descriptor;
  signingScheme: SigningSchemeName;
  /** The signing time, or the authentic signing time for notary.x509.signingAuthority. */
  signingTime: Date;
  expiry?: Date;
  algorithm: NotationAlgorithm;
  certificateChain: NotationCertificate[];
  signingAgent?: string;
  /** Present when the envelope carries an RFC 3161 timestamp token (not verified). */
  timestampSignature?: Buffer;
}

/**
 * Signs `target` with the notary.x509 signing scheme. Checks the chain against the spec's
 * certificate requirements at the signing time and that `key` belongs to the leaf.
 * Throws CertificateError for an unusable chain or key, SignatureEnvelopeError for bad input.
 */
export async function signJws(opts: SignJwsOptions): Promise<SignedEnvelope> {
  const target = sanitizeTarget(opts.target);
  const signingTime = wholeSeconds(opts.signingTime ?? new Date());
  const expiry = opts.expiry === undefined ? undefined : wholeSeconds(opts.expiry);
  if (expiry !== undefined && expiry <= signingTime) throw new SignatureEnvelopeError('expiry must be after the signing time');
  if (opts.chain.length > MAX_CHAIN_LENGTH) throw new CertificateError(`certificate chain is longer than ${MAX_CHAIN_LENGTH}`);
  const chain = opts.chain.map((der) => parseCertificate(der));
  validateCodeSigningChain(chain, signingTime);
  const leaf = chain[0] as NotationCertificate;
  const alg = signatureAlgorithmFor(leaf);
  if (opts.key.type !== 'private') throw new CertificateError('the signing key must be a private key');
  const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(opts.key)).equals(spki(leaf.x509.publicKey))) {
    throw new CertificateError(`the signing key does not belong to the signing certificate ${leaf.subjectString}`);
  }
  // Keys in the order notation-go writes them (Go marshals the header map sorted).
  const crit: string[] = [Header.SigningScheme];
  if (expiry) crit.push(Header.Expiry);
  const protectedHeader: Record<string, unknown> = { alg, crit, cty: NotationMediaType.Payload };
  if (expiry) protectedHeader[Header.Expiry] = rfc3339(expiry);
  protectedHeader[Header.SigningScheme] = SigningScheme.X509;
  protectedHeader[Header.SigningTime] = rfc3339(signingTime);
  const payload = Buffer.from(JSON.stringify({ targetArtifact: target }), 'utf8');
  const jws = await new FlattenedSign(payload)
    .setProtectedHeader(protectedHeader as { alg: string })
    .setUnprotectedHeader({
      x5c: chain.map((c) => c.der.toString('base64')),
      [Header.SigningAgent]: opts.signingAgent ?? DEFAULT_SIGNING_AGENT,
    })
    .sign(opts.key, { crit: RECOGNIZED_CRIT });
  const envelope = { payload: jws.payload, protected: jws.protected, header: jws.header, signature: jws.signature };
  return {
    bytes: Buffer.from(JSON.stringify(envelope), 'utf8'),
    mediaType: NotationMediaType.JwsEnvelope,
    signingTime,
    certificateChain: chain,
  };
}

/**
 * Parses a JWS envelope and checks its integrity: the headers are exactly the Notary ones, `alg`
 * is the one the leaf certificate's key dictates, the signature verifies under that key, the
 * payload is a target descriptor, and the chain meets the certificate requirements at the signing
 * time. Throws SignatureEnvelopeError (or CertificateError for the chain) naming the problem.
 */
export async function parseAndVerifyJws(bytes: Uint8Array): Promise<VerifiedEnvelope> {
  const env = parseEnvelopeJson(bytes);
  const headers = readProtectedHeaders(env.protected);
  const unprotected = env.header;
  const chain = readCertificateChain(unprotected.x5c);
  const leaf = chain[0] as NotationCertificate;
  const keyAlg = signatureAlgorithmFor(leaf);
  if (keyAlg !== headers.alg) {
    throw new SignatureEnvelopeError(`alg ${headers.alg} does not match the signing certificate's key, which requires ${keyAlg}`);
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify(
      { payload: env.payload, protected: env.protected, header: unprotected, signature: env.signature },
      leaf.x509.publicKey,
      { algorithms: [keyAlg], crit: RECOGNIZED_CRIT },
    ));
  } catch (e) {
    throw new SignatureEnvelopeError(`signature does not verify under the signing certificate's key: ${(e as Error).message}`);
  }
  const targetArtifact = readPayload(payload);
  validateCodeSigningChain(chain, headers.signingTime);
  const agent = unprotected[Header.SigningAgent];
  const timestamp = unprotected[Header.TimestampSignature];
  if (timestamp !== undefined && (typeof timestamp !== 'string' || !BASE64.test(timestamp))) {
    throw new SignatureEnvelopeError(`${Header.TimestampSignature} must be a base64 string`);
  }
  return {
    targetArtifact,
    signingScheme: headers.signingScheme,
    signingTime: headers.signingTime,
    expiry: headers.expiry,
    algorithm: keyAlg,
    certificateChain: chain,
    signingAgent: typeof agent === 'string' ? agent : undefined,
    timestampSignature: typeof timestamp === 'string' ? Buffer.from(timestamp, 'base64') : undefined,
  };
}

interface EnvelopeJson {
  payload: string;
  protected: string;
  header: Record<string, unknown>;
  signature: string;
}

function parseEnvelopeJson(bytes: Uint8Array): EnvelopeJson {
  if (bytes.byteLength > MAX_ENVELOPE_BYTES) throw new SignatureEnvelopeError(`envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SignatureEnvelopeError(`envelope is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new SignatureEnvelopeError('envelope must be a JSON object (flattened JWS JSON serialization)');
  for (const k of Object.keys(doc)) {
    if (!ENVELOPE_MEMBERS.has(k)) throw new SignatureEnvelopeError(`envelope has unsupported member ${JSON.stringify(k)}`);
  }
  for (const k of ['payload', 'protected', 'signature'] as const) {
    const v = doc[k];
    if (typeof v !== 'string' || v === '' || !BASE64URL.test(v)) {
      throw new SignatureEnvelopeError(`envelope ${k} must be a non-empty unpadded base64url string`);
    }
  }
  if (!isObject(doc.header)) throw new SignatureEnvelopeError('envelope header (unprotected headers) must be an object');
  return doc as unknown as EnvelopeJson;
}

interface ProtectedHeaders {
  alg: NotationAlgorithm;
  signingScheme: SigningSchemeName;
  signingTime: Date;
  expiry?: Date;
}

function readProtectedHeaders(encoded: string): ProtectedHeaders {
  let h: unknown;
  try {
    h = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (e) {
    throw new SignatureEnvelopeError(`protected header is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(h)) throw new SignatureEnvelopeError('protected header must be a JSON object');
  const alg = h.alg;
  if (typeof alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(alg)) {
    throw new SignatureEnvelopeError(`alg ${JSON.stringify(alg)} is not one of ${ALGORITHMS.join(', ')}`);
  }
  if (h.cty !== NotationMediaType.Payload) {
    throw new SignatureEnvelopeError(`cty ${JSON.stringify(h.cty)} is not supported (expected ${NotationMediaType.Payload})`);
  }
  const scheme = h[Header.SigningScheme];
  if (scheme !== SigningScheme.X509 && scheme !== SigningScheme.X509SigningAuthority) {
    throw new SignatureEnvelopeError(`${Header.SigningScheme} ${JSON.stringify(scheme)} is not supported`);
  }
  const [timeHeader, otherTimeHeader] =
    scheme === SigningScheme.X509 ? [Header.SigningTime, Header.AuthenticSigningTime] : [Header.AuthenticSigningTime, Header.SigningTime];
  if (h[otherTimeHeader] !== undefined) throw new SignatureEnvelopeError(`${otherTimeHeader} must not be present with ${scheme}`);
  const signingTime = readTime(h, timeHeader);
  if (!signingTime) throw new SignatureEnvelopeError(`${timeHeader} is required with ${scheme}`);
  const expiry = readTime(h, Header.Expiry);
  if (expiry && expiry <= signingTime) throw new SignatureEnvelopeError('expiry must be after the signing time');
  checkCrit(h, [Header.SigningScheme, ...(expiry ? [Header.Expiry] : []), ...(scheme === SigningScheme.X509 ? [] : [timeHeader])]);
  return { alg: alg as NotationAlgorithm, signingScheme: scheme, signingTime, expiry };
}

/** crit must list exactly the required critical headers; anything else is an unknown critical header. */
function checkCrit(h: Record<string, unknown>, required: readonly string[]): void {
  const crit = h.crit;
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
    throw new SignatureEnvelopeError('crit must be a non-empty array of header names');
  }
  if (new Set(crit).size !== crit.length) throw new SignatureEnvelopeError('crit lists a header more than once');
  const missing = required.filter((r) => !crit.includes(r));
  if (missing.length > 0) throw new SignatureEnvelopeError(`crit must list ${missing.join(', ')}`);
  const unknown = (crit as string[]).filter((c) => !required.includes(c));
  if (unknown.length > 0) {
    throw new SignatureEnvelopeError(`crit lists header(s) this verifier does not process: ${unknown.join(', ')}`);
  }
}

function readTime(h: Record<string, unknown>, name: string): Date | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  const t = typeof v === 'string' && RFC3339.test(v) && isCalendarDate(v) ? new Date(v) : undefined;
  if (!t || Number.isNaN(t.getTime())) throw new SignatureEnvelopeError(`${name} must be an RFC 3339 date-time, got ${JSON.stringify(v)}`);
  return t;
}

/** JavaScript's Date rolls 2024-02-30 over to March; RFC 3339 has no such day. */
function isCalendarDate(v: string): boolean {
  const [y, m, d] = [Number(v.slice(0, 4)), Number(v.slice(5, 7)), Number(v.slice(8, 10))];
  return m >= 1 && m <= 12 && d >= 1 && new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
}

function readCertificateChain(x5c: unknown): NotationCertificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0) throw new SignatureEnvelopeError('x5c (the certificate chain) is required');
  if (x5c.length > MAX_CHAIN_LENGTH) throw new SignatureEnvelopeError(`x5c has more than ${MAX_CHAIN_LENGTH} certificates`);
  return x5c.map((c, i) => {
    if (typeof c !== 'string' || !BASE64.test(c)) throw new SignatureEnvelopeError(`x5c[${i}] must be a base64 string`);
    try {
      return parseCertificate(Buffer.from(c, 'base64'));
    } catch (e) {
      throw new SignatureEnvelopeError(`x5c[${i}]: ${(e as Error).message}`);
    }
  });
}

function readPayload(payload: Uint8Array): Descriptor {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    throw new SignatureEnvelopeError(`payload is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc) || doc.targetArtifact === undefined) throw new SignatureEnvelopeError('payload must be an object with targetArtifact');
  return sanitizeTarget(doc.targetArtifact);
}

/**
 * The descriptor fields notation signs (mediaType, digest, size, annotations), with keys in the
 * sorted order notation-go's JSON payload has.
 */
function sanitizeTarget(v: unknown): Descriptor {
  let d: Descriptor;
  try {
    d = parseDescriptor(v, 'targetArtifact');
  } catch (e) {
    throw new SignatureEnvelopeError((e as Error).message);
  }
  const annotations = d.annotations && Object.keys(d.annotations).length > 0 ? d.annotations : undefined;
  return {
    ...(annotations ? { annotations: Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : 1))) } : {}),
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
  };
}

function wholeSeconds(d: Date): Date {
  if (Number.isNaN(d.getTime())) throw new SignatureEnvelopeError('invalid date');
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** RFC 3339 in UTC without fractional seconds, which the spec says SHOULD NOT be used. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
