/*
 * Signing and verifying bytes the way cosign does for each key type
 * (sigstore/sigstore pkg/signature: LoadDefaultSignerVerifier and GetDefaultPublicKeyDetails).
 *
 *  - ECDSA: ASN.1 DER signature over the curve's hash (P-256/SHA-256, P-384/SHA-384,
 *    P-521/SHA-512). `cosign verify --key` hashes with --signature-digest-algorithm, default
 *    sha256, so a P-384/P-521 signature made with SHA-256 is accepted too.
 *  - RSA: PKCS #1 v1.5 with SHA-256 (sigstore's default; PSS only on explicit request).
 *  - Ed25519: cosign signs with Ed25519ph; `cosign verify` accepted only pure Ed25519 until it gained
 *    a verifier taking both (pkg/cosign/ed25519_compat_test.go). berth signs pure Ed25519, which
 *    every cosign version verifies, and accepts both when verifying.
 */
import { sign, verify } from 'node:crypto';
import { verifyEd25519ph } from './ed25519ph.js';
import type { CosignAlgorithm, CosignPrivateKey, CosignPublicKey } from './keys.js';

const HASH: Record<CosignAlgorithm, string | null> = {
  'ecdsa-p256-sha256': 'sha256',
  'ecdsa-p384-sha384': 'sha384',
  'ecdsa-p521-sha512': 'sha512',
  'rsa-pkcs1v15-sha256': 'sha256',
  ed25519: null,
};

/** Signs `data` with the key's cosign algorithm; returns the raw signature bytes. */
export function signBytes(key: CosignPrivateKey, data: Uint8Array): Buffer {
  return sign(HASH[key.publicKey.algorithm], data, key.key);
}

/** True when `signature` is a signature of `data` by `key` under a scheme cosign produces. Never throws. */
export function verifyBytes(key: CosignPublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const hash = HASH[key.algorithm];
    if (verify(hash, data, key.key, signature)) return true;
    if (key.algorithm === 'ed25519') return verifyEd25519ph(rawEd25519(key), data, signature);
    return key.algorithm.startsWith('ecdsa-') && hash !== 'sha256' && verify('sha256', data, key.key, signature);
  } catch {
    return false;
  }
}

function rawEd25519(key: CosignPublicKey): Buffer {
  return Buffer.from(key.key.export({ format: 'jwk' }).x ?? '', 'base64url');
}
