/*
 * Cosign keys: `cosign generate-key-pair` output, `cosign.key` decryption, imported PEM keys.
 *
 * What cosign does (sigstore/cosign pkg/cosign/keys.go, secure-systems-lab/go-securesystemslib
 * encrypted/encrypted.go, sigstore/sigstore pkg/signature/algorithm_registry.go):
 *  - generate-key-pair makes an ECDSA P-256 key, marshals it as PKCS #8, encrypts it with
 *    `encrypted.Encrypt` and writes PEM type "ENCRYPTED SIGSTORE PRIVATE KEY" (older cosign wrote
 *    "ENCRYPTED COSIGN PRIVATE KEY"; both are read). cosign.pub is the PKIX public key, PEM "PUBLIC KEY".
 *  - `encrypted.Encrypt` is scrypt (the "Standard" parameters N=65536, r=8, p=1, 32-byte salt) into a
 *    32-byte key for NaCl secretbox (24-byte nonce); the PEM body is json.Marshal of
 *    {"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}
 *    with []byte fields in standard base64.
 *  - Decryption accepts exactly the three parameter sets go-securesystemslib knows (Legacy N=32768,
 *    Standard N=65536, OWASP N=131072; r=8, p=1): a key file cannot make berth spend unbounded memory
 *    or time, which is also why that library checks them.
 *  - Imported keys (`cosign import-key-pair`): PKCS #1 RSA, SEC1 EC, PKCS #8 RSA/ECDSA/Ed25519;
 *    sigstore's goodkey refuses RSA outside 2048..4096 bits and curves other than P-256/384/521.
 *  - Default signing algorithms: ECDSA with the curve's hash (P-256/SHA-256, P-384/SHA-384,
 *    P-521/SHA-512), RSA PKCS #1 v1.5 with SHA-256, Ed25519 (see signature.ts for Ed25519ph).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { CosignKeyError, WrongPasswordError } from './errors.js';
import { goJson } from './go-json.js';
import { pemBlocks, pemEncode } from './pem.js';

export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

export type CosignAlgorithm = 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ecdsa-p521-sha512' | 'rsa-pkcs1v15-sha256' | 'ed25519';

export interface CosignPublicKey {
  readonly key: KeyObject;
  readonly algorithm: CosignAlgorithm;
}

export interface CosignPrivateKey {
  readonly key: KeyObject;
  readonly publicKey: CosignPublicKey;
}

export interface CosignKeyPair {
  /** The cosign.key file: PEM "ENCRYPTED SIGSTORE PRIVATE KEY". */
  privatePem: string;
  /** The cosign.pub file: PEM "PUBLIC KEY" (PKIX). */
  publicPem: string;
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

const STANDARD_PARAMS: ScryptParams = { N: 65536, r: 8, p: 1 };
/** Legacy, Standard and OWASP: the only parameters go-securesystemslib decrypts with. */
const ACCEPTED_PARAMS: readonly ScryptParams[] = [{ N: 32768, r: 8, p: 1 }, STANDARD_PARAMS, { N: 131072, r: 8, p: 1 }];
/** scrypt needs 128·N·r bytes; the largest accepted set needs 128 MiB. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
const MAX_ENCRYPTED_JSON = 64 * 1024;

const CURVES: Record<string, CosignAlgorithm> = {
  prime256v1: 'ecdsa-p256-sha256',
  secp384r1: 'ecdsa-p384-sha384',
  secp521r1: 'ecdsa-p521-sha512',
};

/**
 * The algorithm cosign signs with for this key (its default for the key type). Throws
 * CosignKeyError for key types, curves or RSA sizes sigstore refuses.
 */
export function algorithmOf(key: KeyObject): CosignAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const algorithm = CURVES[details.namedCurve ?? ''];
      if (!algorithm) throw new CosignKeyError(`ECDSA curve ${details.namedCurve ?? '(unknown)'} not allowed (P-256, P-384 or P-521)`);
      return algorithm;
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048 || bits > 4096) throw new CosignKeyError(`RSA key size not supported: ${bits} (2048 to 4096 bits)`);
      return 'rsa-pkcs1v15-sha256';
    }
    case 'ed25519':
      return 'ed25519';
    default:
      throw new CosignKeyError(`unsupported key type ${key.asymmetricKeyType ?? '(unknown)'} (ECDSA, RSA or Ed25519)`);
  }
}

/** A checked public key (from a certificate, a trust root...). Throws CosignKeyError as algorithmOf. */
export function cosignPublicKey(key: KeyObject): CosignPublicKey {
  if (key.type !== 'public') throw new CosignKeyError('expected a public key');
  return { key, algorithm: algorithmOf(key) };
}

/** cosign.pub: the PKIX public key in PEM "PUBLIC KEY". */
export function publicKeyPem(key: KeyObject): string {
  return pemEncode('PUBLIC KEY', key.export({ type: 'spki', format: 'der' }));
}

/**
 * A new ECDSA P-256 key pair written as `cosign generate-key-pair` writes it. The password may be
 * empty (cosign allows it). Never throws for valid input.
 */
export async function generateCosignKeyPair(password: string | Uint8Array): Promise<CosignKeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: await encryptPrivateKey(privateKey, password),
    publicPem: publicKeyPem(publicKey),
  };
}

/** Encrypts a private key as cosign does (PKCS #8, scrypt Standard, secretbox), PEM "ENCRYPTED SIGSTORE PRIVATE KEY". */
export async function encryptPrivateKey(key: KeyObject, password: string | Uint8Array): Promise<string> {
  algorithmOf(key);
  const plaintext = key.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const boxKey = await deriveKey(password, salt, STANDARD_PARAMS);
  const ciphertext = nacl.secretbox(plaintext, nonce, boxKey);
  const data = goJson({
    kdf: { name: 'scrypt', params: { N: STANDARD_PARAMS.N, r: STANDARD_PARAMS.r, p: STANDARD_PARAMS.p }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
  return pemEncode(SIGSTORE_PRIVATE_KEY_PEM_TYPE, data);
}

/**
 * Loads a private key: cosign's encrypted formats (needs the password; an empty password is
 * allowed), or an unencrypted PKCS #8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS #1 "RSA PRIVATE
 * KEY" (an "EC PARAMETERS" block before it, as openssl writes, is skipped). Throws
 * WrongPasswordError when the password does not open the key, CosignKeyError for anything else
 * that is wrong with the key.
 */
export async function loadPrivateKey(pem: string | Uint8Array, password?: string | Uint8Array): Promise<CosignPrivateKey> {
  const block = pemBlocks(pem).find((b) => b.type !== 'EC PARAMETERS');
  if (!block) throw new CosignKeyError('no private key PEM block found');
  let key: KeyObject;
  switch (block.type) {
    case SIGSTORE_PRIVATE_KEY_PEM_TYPE:
    case COSIGN_PRIVATE_KEY_PEM_TYPE:
      key = parseDer(await decryptSecret(block.der, password ?? ''), 'pkcs8', 'the decrypted key is not a PKCS #8 private key');
      break;
    case 'PRIVATE KEY':
      key = parseDer(block.der, 'pkcs8', 'not a PKCS #8 private key');
      break;
    case 'EC PRIVATE KEY':
      key = parseDer(block.der, 'sec1', 'not a SEC1 EC private key');
      break;
    case 'RSA PRIVATE KEY':
      key = parseDer(block.der, 'pkcs1', 'not a PKCS #1 RSA private key');
      break;
    default:
      throw new CosignKeyError(`unsupported private key PEM type "${block.type}"`);
  }
  const publicKey = createPublicKey(key);
  return { key, publicKey: { key: publicKey, algorithm: algorithmOf(publicKey) } };
}

/** Loads cosign.pub: PEM "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY" (PKCS #1), as sigstore reads them. Throws CosignKeyError. */
export function loadPublicKey(pem: string | Uint8Array): CosignPublicKey {
  const [block] = pemBlocks(pem);
  if (!block || (block.type !== 'PUBLIC KEY' && block.type !== 'RSA PUBLIC KEY')) {
    throw new CosignKeyError(`unknown public key PEM type "${block?.type ?? ''}" (expected PUBLIC KEY)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: block.type === 'PUBLIC KEY' ? 'spki' : 'pkcs1' });
  } catch {
    throw new CosignKeyError(`PEM "${block.type}" does not hold a valid public key`);
  }
  return cosignPublicKey(key);
}

function parseDer(der: Buffer, type: 'pkcs8' | 'sec1' | 'pkcs1', message: string): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type });
  } catch {
    throw new CosignKeyError(message);
  }
}

/**
 * go-securesystemslib `encrypted.Decrypt`: opens the JSON document inside a cosign key PEM.
 * Throws WrongPasswordError when the password (or the ciphertext) is wrong, CosignKeyError for a
 * malformed document or scrypt parameters outside the accepted sets.
 */
export async function decryptSecret(body: Uint8Array, password: string | Uint8Array): Promise<Buffer> {
  if (body.length > MAX_ENCRYPTED_JSON) throw new CosignKeyError('encrypted key is too large');
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new CosignKeyError('encrypted key body is not JSON');
  }
  const { kdf, cipher, ciphertext } = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const k = (kdf ?? {}) as Record<string, unknown>;
  const c = (cipher ?? {}) as Record<string, unknown>;
  if (k.name !== 'scrypt') throw new CosignKeyError(`encrypted key: unknown kdf name ${JSON.stringify(k.name)}`);
  if (c.name !== 'nacl/secretbox') throw new CosignKeyError(`encrypted key: unknown cipher name ${JSON.stringify(c.name)}`);
  const params = (k.params ?? {}) as Record<string, unknown>;
  const accepted = ACCEPTED_PARAMS.find((a) => a.N === params.N && a.r === params.r && a.p === params.p);
  if (!accepted) throw new CosignKeyError(`encrypted key: unsupported scrypt parameters ${JSON.stringify(params).slice(0, 100)}`);
  const salt = base64Field(k.salt, 'kdf.salt');
  const nonce = base64Field(c.nonce, 'cipher.nonce');
  const box = base64Field(ciphertext, 'ciphertext');
  if (salt.length === 0 || salt.length > 1024) throw new CosignKeyError('encrypted key: salt must be 1 to 1024 bytes');
  if (nonce.length !== NONCE_BYTES) throw new CosignKeyError('encrypted key: incorrect nonce size');
  const opened = nacl.secretbox.open(box, nonce, await deriveKey(password, salt, accepted));
  if (!opened) throw new WrongPasswordError('cannot decrypt the private key: wrong password (or the key file was altered)');
  return Buffer.from(opened);
}

function base64Field(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new CosignKeyError(`encrypted key: ${name} must be standard base64`);
  return Buffer.from(v, 'base64');
}

function deriveKey(password: string | Uint8Array, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: SCRYPT_MAXMEM }, (err, derived) =>
      err ? reject(new CosignKeyError(`scrypt failed: ${err.message}`)) : resolve(derived),
    );
  });
}
