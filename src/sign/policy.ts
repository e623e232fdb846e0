/*
 * The signing policy (settings kind `signing`, per repository or `project/*`) and the trust it
 * describes:
 * ```json
 * { "enforce": true,
 *   "cosign": { "keys": ["-----BEGIN PUBLIC KEY-----..."],
 *               "keyless": [{ "issuer": "https://token.actions.githubusercontent.com",
 *                             "identity": "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main" }],
 *               "trustedRoot": { ...Sigstore trusted_root.json... } },
 *   "notation": { "trustPolicy": { ...Notary Project trust policy document, version 1.0... },
 *                 "trustStores": { "ca:acme": ["-----BEGIN CERTIFICATE-----..."] } } }
 * ```
 * Every key, certificate, trusted root and trust policy is loaded when the document is stored, so a
 * typo is refused with the field that holds it (`cosign.keys[1]`), not found at the first pull.
 * Keyless signatures are verified offline: they need the trusted root in the document.
 *
 * SigningTrust is that material loaded, and judges one signature against it (the verifiers of
 * cosign/ and notation/ do the cryptography; this file decides what counts as a trusted signer).
 */
import type { TrustMaterial } from '@sigstore/verify';
import { z } from 'zod';
import { PolicyDocumentError } from '../errors/document-error.js';
import type { Descriptor } from '../oci/manifest.js';
import { parseBundle, CandidateFailure, type VerificationFailure } from './cosign/verify.js';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  CosignFormatError,
  CosignKeyError,
  loadPublicKey,
  loadTrustedRoot,
  publicKeyHint,
  verifyBundlesKeyless,
  verifyBundlesWithKey,
  verifyLegacySignatures,
  type CosignPublicKey,
  type StoredLayer,
} from './cosign/index.js';
import { CERTIFICATE_ANNOTATION } from './cosign/signature-image.js';
import { parseCertificateFile } from './notation/certificate.js';
import { NotationError } from './notation/errors.js';
import { parseTrustPolicyDocument, type TrustPolicyDocument, type TrustStoreType, type ValidationType } from './notation/trust-policy.js';
import { X509TrustStore, type TrustStore } from './notation/trust-store.js';
import { verifyNotationSignature } from './notation/verify-signature.js';

export interface KeylessIdentity {
  /** OIDC issuer of the Fulcio certificate, compared exactly. */
  issuer: string;
  /** Certificate identity (SAN: e-mail, URI), compared exactly. */
  identity: string;
}

/** A validated signing policy, as stored (JSON-safe: the management API shows it back). */
export interface SigningPolicy {
  /** Refuse pulls of manifests without a signature from a trusted signer (SignatureGate). */
  enforce: boolean;
  cosign: {
    /** PEM public keys ("PUBLIC KEY" or "RSA PUBLIC KEY"). */
    keys: string[];
    keyless: KeylessIdentity[];
    /** Sigstore trusted_root.json; required with `keyless`. */
    trustedRoot?: Record<string, unknown>;
  };
  notation?: {
    /** Notary Project trust policy document (version "1.0"). */
    trustPolicy: Record<string, unknown>;
    /** `{type}:{name}` -> PEM certificates (each string may hold several). */
    trustStores: Record<string, string[]>;
  };
}

const MAX_PEM_CHARS = 64 * 1024;
const pem = z.string().min(1).max(MAX_PEM_CHARS);
const STORE_REF = /^(ca|signingAuthority|tsa):[a-zA-Z0-9_.-]{1,128}$/;
const MAX_TRUST_STORES = 50;

const schema = z
  .object({
    enforce: z.boolean().default(false),
    cosign: z
      .object({
        keys: z.array(pem).max(100).default([]),
        keyless: z
          .array(z.object({ issuer: z.string().min(1).max(1024), identity: z.string().min(1).max(1024) }).strict())
          .max(20)
          .default([]),
        trustedRoot: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .prefault({}),
    notation: z
      .object({
        trustPolicy: z.record(z.string(), z.unknown()),
        trustStores: z.record(z.string(), z.array(pem).min(1).max(20)).default({}),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Validates a signing policy and loads all its trust material; PolicyDocumentError names the field. */
export function parseSigningPolicy(input: unknown): SigningPolicy {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = fieldName(issue.path);
    throw new PolicyDocumentError(`${field || 'document'}: ${issue.message}`, field);
  }
  const doc: SigningPolicy = r.data;
  const trust = SigningTrust.load(doc);
  if (doc.enforce && !trust.hasSigners()) {
    throw new PolicyDocumentError('enforce: no trusted signer is configured (cosign.keys, cosign.keyless or notation)', 'enforce');
  }
  return doc;
}

/** `cosign.keys[1]`, `notation.trustStores["ca:acme"][0]`: trust store names are always quoted. */
function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => {
      if (typeof p === 'number') return `[${p}]`;
      const name = String(p);
      return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && path[i - 1] !== 'trustStores' ? `.${name}` : `[${JSON.stringify(name)}]`;
    })
    .join('')
    .replace(/^\./, '');
}

const invalid = (field: string, message: string): PolicyDocumentError => new PolicyDocumentError(`${field}: ${message}`, field);

export type SignatureKind = 'cosign-bundle' | 'cosign-legacy' | 'notation';

/** The judgement of one signature. `signer`: key hint, certificate identity or subject; "" when unknown. */
export interface SignatureVerdict {
  verified: boolean;
  signer: string;
  /** Why it does not count: a cosign FailureReason, a notation outcome, or NOT_CONFIGURED. */
  reason?: string;
  /** The verifier's message. */
  detail?: string;
}

/** The reason of a signature whose kind the policy holds no trust material for. */
export const NOT_CONFIGURED = 'no trusted keys configured';

/** What a failed notation validation means, in the words the cosign reasons use. */
const NOTATION_REASONS: Record<ValidationType, string> = {
  integrity: 'bad-signature',
  authenticity: 'untrusted-signer',
  expiry: 'expired',
  authenticTimestamp: 'expired',
  revocation: 'revocation-unknown',
};

interface TrustedKey {
  key: CosignPublicKey;
  /** base64(SHA-256(PKIX)): the hint cosign writes into bundles. */
  hint: string;
}

/** A policy's trust material, loaded; judges signatures of one manifest. */
export class SigningTrust {
  private constructor(
    private readonly keys: readonly TrustedKey[],
    private readonly keyless: readonly KeylessIdentity[],
    private readonly trustedRoot: TrustMaterial | undefined,
    private readonly notation: { policy: TrustPolicyDocument; stores: TrustStore } | undefined,
  ) {}

  /** Trusts nobody (no policy applies): every signature is listed as NOT_CONFIGURED. */
  static none(): SigningTrust {
    return new SigningTrust([], [], undefined, undefined);
  }

  /** Loads the keys, trusted root, trust policy and stores of a schema-valid document. Throws PolicyDocumentError naming the field. */
  static load(doc: SigningPolicy): SigningTrust {
    const keys = doc.cosign.keys.map((text, i) => {
      try {
        const key = loadPublicKey(text);
        return { key, hint: publicKeyHint(key) };
      } catch (e) {
        if (e instanceof CosignKeyError) throw invalid(`cosign.keys[${i}]`, e.message);
        throw e;
      }
    });
    let trustedRoot: TrustMaterial | undefined;
    if (doc.cosign.trustedRoot) {
      try {
        trustedRoot = loadTrustedRoot(Buffer.from(JSON.stringify(doc.cosign.trustedRoot)));
      } catch (e) {
        if (e instanceof CosignFormatError) throw invalid('cosign.trustedRoot', e.message);
        throw e;
      }
    } else if (doc.cosign.keyless.length > 0) {
      throw invalid('cosign.trustedRoot', 'required with cosign.keyless (keyless signatures are verified offline against it)');
    }
    return new SigningTrust(keys, doc.cosign.keyless, trustedRoot, doc.notation && loadNotation(doc.notation));
  }

  /** True when some signature could verify: a key, a keyless identity or a notation trust policy. */
  hasSigners(): boolean {
    return this.keys.length > 0 || this.keyless.length > 0 || this.notation !== undefined;
  }

  /** Judges a Sigstore bundle (cosign 3 referrer) as an image signature of `imageDigest`. Never throws. */
  checkBundle(bytes: Uint8Array, imageDigest: string): SignatureVerdict {
    let content;
    try {
      content = parseBundle(bytes, '').verificationMaterial.content;
    } catch (e) {
      if (e instanceof CandidateFailure) return rejected('', e.failure);
      throw e;
    }
    const predicateType = COSIGN_SIGN_PREDICATE_TYPE;
    if (content.$case === 'publicKey') {
      const hint = content.publicKey.hint;
      return this.withKeys(hint, (publicKey) => verifyBundlesWithKey({ bundles: [bytes], publicKey, imageDigest, predicateType }).failures[0]);
    }
    if (!this.trustedRoot || this.keyless.length === 0) return notConfigured('', 'the signing policy lists no cosign.keyless identities');
    let mismatch: VerificationFailure | undefined;
    for (const id of this.keyless) {
      const r = verifyBundlesKeyless({ bundles: [bytes], trustMaterial: this.trustedRoot, ...id, imageDigest, predicateType });
      const verified = r.verified[0];
      if (verified) return { verified: true, signer: verified.signer.identity };
      const f = r.failures[0]!;
      // Anything but an identity mismatch is the same for every identity (or comes after the identity matched).
      if (f.reason !== 'identity-mismatch') return rejected('', f);
      mismatch ??= f;
    }
    return rejected('', { ...mismatch!, message: `the certificate identity is none of the ${this.keyless.length} trusted in cosign.keyless (${mismatch!.message})` });
  }

  /** Judges one layer of a `sha256-<hex>.sig` image (cosign simple signing). Never throws for a valid digest. */
  checkLegacyLayer(layer: StoredLayer, imageDigest: string): SignatureVerdict {
    const verdict = this.withKeys(undefined, (publicKey) => verifyLegacySignatures({ layers: [layer], publicKey, imageDigest }).failures[0]);
    if (!verdict.verified && layer.descriptor.annotations?.[CERTIFICATE_ANNOTATION] !== undefined && verdict.reason !== NOT_CONFIGURED) {
      return { ...verdict, reason: 'unsupported', detail: 'keyless signatures in the .sig tag scheme are not verified by berth (sign with the bundle format)' };
    }
    return verdict;
  }

  /**
   * Judges a Notary Project signature of `target` under the notation trust policy, for the
   * artifact `artifactReference` (`host/repository@digest`, which selects the policy statement).
   * A statement with level `skip` verifies nobody, so its signatures do not count. Throws only
   * TrustPolicyError for a malformed artifactReference.
   */
  async checkNotation(envelope: Descriptor, bytes: Uint8Array, target: Descriptor, artifactReference: string): Promise<SignatureVerdict> {
    if (!this.notation) return notConfigured('', 'the signing policy has no notation trust policy');
    const report = await verifyNotationSignature({
      envelope: bytes,
      envelopeMediaType: envelope.mediaType,
      target,
      policyDoc: this.notation.policy,
      trustStores: this.notation.stores,
      artifactReference,
    });
    const signer = report.signer ?? '';
    if (report.outcome === 'verified') return { verified: true, signer };
    if (report.outcome === 'skipped') {
      return { verified: false, signer, reason: 'verification-skipped', detail: `trust policy statement ${JSON.stringify(report.policy)} skips verification` };
    }
    const failed = report.results.find((r) => !r.ok && r.action === 'enforce');
    return { verified: false, signer, reason: failed ? NOTATION_REASONS[failed.type] : 'no-trust-policy', detail: report.reasons.join('; ') };
  }

  /**
   * Tries the keys (the one whose hint the signature names first); `check` returns the failure or
   * undefined when the key verifies. A bad signature under every key, when the signature names a
   * key that is not trusted, is reported as an untrusted signer.
   */
  private withKeys(hint: string | undefined, check: (key: CosignPublicKey) => VerificationFailure | undefined): SignatureVerdict {
    if (this.keys.length === 0) return notConfigured(hint ?? '', 'the signing policy lists no cosign.keys');
    const named = this.keys.filter((k) => k.hint === hint);
    let failure: VerificationFailure | undefined;
    for (const k of [...named, ...this.keys.filter((x) => x.hint !== hint)]) {
      const f = check(k.key);
      if (!f) return { verified: true, signer: k.hint };
      // A reason other than bad-signature means this key signed it: that is the interesting failure.
      if (!failure || (failure.reason === 'bad-signature' && f.reason !== 'bad-signature')) failure = f;
    }
    if (failure!.reason === 'bad-signature' && hint && named.length === 0) {
      return { verified: false, signer: hint, reason: 'untrusted-signer', detail: `signed with the key ${hint}, which is not in cosign.keys` };
    }
    return rejected(hint ?? '', failure!);
  }
}

function rejected(signer: string, f: VerificationFailure): SignatureVerdict {
  return { verified: false, signer, reason: f.reason, detail: f.message };
}

function notConfigured(signer: string, detail: string): SignatureVerdict {
  return { verified: false, signer, reason: NOT_CONFIGURED, detail };
}

function loadNotation(n: NonNullable<SigningPolicy['notation']>): { policy: TrustPolicyDocument; stores: TrustStore } {
  let policy: TrustPolicyDocument;
  try {
    policy = parseTrustPolicyDocument(n.trustPolicy);
  } catch (e) {
    if (e instanceof NotationError) throw invalid('notation.trustPolicy', e.message);
    throw e;
  }
  const refs = Object.entries(n.trustStores);
  if (refs.length > MAX_TRUST_STORES) throw invalid('notation.trustStores', `more than ${MAX_TRUST_STORES} trust stores`);
  const named = refs.map(([ref, pems]) => {
    if (!STORE_REF.test(ref)) throw invalid(`notation.trustStores[${JSON.stringify(ref)}]`, 'must be {ca|signingAuthority|tsa}:{name}, name [a-zA-Z0-9_.-]+');
    const [type, name] = splitRef(ref);
    const certificates = pems.flatMap((text, i) => {
      const field = `notation.trustStores[${JSON.stringify(ref)}][${i}]`;
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw invalid(field, 'expected PEM CERTIFICATE blocks');
      try {
        return parseCertificateFile(Buffer.from(text, 'utf8')).map((c) => c.der);
      } catch (e) {
        if (e instanceof NotationError) throw invalid(field, e.message);
        throw e;
      }
    });
    return { type, name, certificates };
  });
  const stores = X509TrustStore.fromCertificates(named);
  for (const s of named) {
    try {
      stores.certificates(s.type, s.name);
    } catch (e) {
      if (e instanceof NotationError) throw invalid(`notation.trustStores[${JSON.stringify(`${s.type}:${s.name}`)}]`, e.message);
      throw e;
    }
  }
  for (const statement of policy.trustPolicies) {
    const missing = statement.trustStores.find((r) => !(`${r.type}:${r.name}` in n.trustStores));
    if (missing) {
      const ref = `${missing.type}:${missing.name}`;
      throw invalid('notation.trustStores', `trust policy statement ${JSON.stringify(statement.name)} uses the trust store ${ref}, which is not defined here`);
    }
  }
  return { policy, stores };
}

function splitRef(ref: string): [TrustStoreType, string] {
  const i = ref.indexOf(':');
  return [ref.slice(0, i) as TrustStoreType, ref.slice(i + 1)];
}
