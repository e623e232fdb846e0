/*
 * signature-specification.md "Certificate Requirements" and "Signature Algorithm Requirements",
 * checked on the chain carried by a signature (leaf first, root last) at signing time and at
 * verification time, independently of any trust store. The order of the checks follows
 * notation-core-go's x509.ValidateCodeSigningCertChain, with the spec's stricter words where the
 * two differ: a CA's basicConstraints must be critical, and a leaf's extendedKeyUsage must not
 * contain anyExtendedKeyUsage.
 */
import { CertificateError } from './errors.js';
import { Oid, type KeyUsageBit, type NotationCertificate } from './certificate.js';

/** JWS `alg` values the Notary Project allows (signature-envelope-jws.md "Supported alg header values"). */
export type NotationAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** A chain longer than this is refused before any signature is checked. */
export const MAX_CHAIN_LENGTH = 10;

const RSA_ALGORITHMS: Record<number, NotationAlgorithm> = { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' };
const EC_ALGORITHMS: Record<string, NotationAlgorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** Certificate signature algorithms accepted in a chain; SHA-1 ones are refused by name. */
const CERT_SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.113549.1.1.10', // RSASSA-PSS
  '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.2', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4', // ecdsa-with-SHA512
  '1.3.101.112', // Ed25519
]);
const SHA1_SIGNATURE_ALGORITHMS = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1']);

const LEAF_FORBIDDEN_KEY_USAGE: readonly KeyUsageBit[] = [
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];
const LEAF_FORBIDDEN_EKU: Record<string, string> = {
  [Oid.anyExtendedKeyUsage]: 'anyExtendedKeyUsage',
  [Oid.serverAuth]: 'serverAuth',
  [Oid.clientAuth]: 'clientAuth',
  [Oid.emailProtection]: 'emailProtection',
  [Oid.timeStamping]: 'timeStamping',
  [Oid.ocspSigning]: 'OCSPSigning',
};

/**
 * The signature algorithm the leaf's public key dictates ("Algorithm Selection" table).
 * Throws CertificateError for other key types and sizes.
 */
export function signatureAlgorithmFor(cert: NotationCertificate): NotationAlgorithm {
  const key = cert.x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const alg = RSA_ALGORITHMS[details.modulusLength ?? 0];
    if (alg) return alg;
    throw new CertificateError(
      `certificate ${cert.subjectString}: RSA key of ${details.modulusLength} bits is not supported (2048, 3072 or 4096)`,
    );
  }
  if (key.asymmetricKeyType === 'ec') {
    const alg = EC_ALGORITHMS[details.namedCurve ?? ''];
    if (alg) return alg;
    throw new CertificateError(`certificate ${cert.subjectString}: EC curve ${details.namedCurve} is not supported (P-256, P-384 or P-521)`);
  }
  throw new CertificateError(`certificate ${cert.subjectString}: ${key.asymmetricKeyType} keys are not supported (RSA or EC)`);
}

/** Is `cert` signed by `issuer`'s key, with `issuer`'s subject as its issuer name? */
export function isIssuedBy(cert: NotationCertificate, issuer: NotationCertificate): boolean {
  if (!cert.issuerDer.equals(issuer.subjectDer)) return false;
  try {
    return cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Validates a signature's certificate chain (leaf first, ending with a self-signed root; a single
 * self-signed certificate is allowed and must meet the leaf requirements). Every certificate must
 * be valid at `signingTime` (validity periods need not nest). Throws CertificateError naming the
 * first certificate and requirement that fail.
 */
export function validateCodeSigningChain(chain: readonly NotationCertificate[], signingTime: Date): void {
  if (chain.length === 0) throw new CertificateError('certificate chain is empty');
  if (chain.length > MAX_CHAIN_LENGTH) throw new CertificateError(`certificate chain is longer than ${MAX_CHAIN_LENGTH}`);
  chain.forEach((cert, i) => {
    checkSigningTime(cert, signingTime);
    checkSignatureAlgorithm(cert);
    const last = i === chain.length - 1;
    if (last) {
      if (!isIssuedBy(cert, cert)) {
        throw new CertificateError(
          `certificate ${cert.subjectString} ends the chain but is not a self-signed root; the chain must end with its root`,
        );
      }
    } else {
      if (isIssuedBy(cert, cert)) {
        throw new CertificateError(`certificate ${cert.subjectString} is self-signed but is not the last of the chain`);
      }
      const parent = chain[i + 1] as NotationCertificate;
      if (!isIssuedBy(cert, parent)) {
        throw new CertificateError(`certificate ${cert.subjectString} is not issued by the next one, ${parent.subjectString}`);
      }
    }
    if (i === 0) checkLeaf(cert);
    else checkCa(cert, i - 1);
  });
}

function checkSigningTime(cert: NotationCertificate, at: Date): void {
  if (at < cert.notBefore || at > cert.notAfter) {
    throw new CertificateError(
      `certificate ${cert.subjectString} was not valid at signing time ${at.toISOString()} ` +
        `(valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
    );
  }
}

function checkSignatureAlgorithm(cert: NotationCertificate): void {
  if (SHA1_SIGNATURE_ALGORITHMS.has(cert.signatureAlgorithmOid)) {
    throw new CertificateError(`certificate ${cert.subjectString} is signed with SHA-1, which is not allowed`);
  }
  if (!CERT_SIGNATURE_ALGORITHMS.has(cert.signatureAlgorithmOid)) {
    throw new CertificateError(`certificate ${cert.subjectString} uses unsupported signature algorithm ${cert.signatureAlgorithmOid}`);
  }
}

function checkLeaf(cert: NotationCertificate): void {
  const who = `signing certificate ${cert.subjectString}`;
  if (cert.basicConstraints?.ca) throw new CertificateError(`${who}: basicConstraints cA must be false`);
  if (!cert.keyUsage) throw new CertificateError(`${who}: the keyUsage extension must be present`);
  if (!cert.keyUsage.critical) throw new CertificateError(`${who}: the keyUsage extension must be critical`);
  if (!cert.keyUsage.bits.has('digitalSignature')) throw new CertificateError(`${who}: keyUsage must include digitalSignature`);
  const extra = LEAF_FORBIDDEN_KEY_USAGE.filter((b) => cert.keyUsage?.bits.has(b));
  if (extra.length > 0) throw new CertificateError(`${who}: keyUsage must not include ${extra.join(', ')}`);
  const badEku = (cert.extKeyUsage ?? []).filter((o) => o in LEAF_FORBIDDEN_EKU).map((o) => LEAF_FORBIDDEN_EKU[o]);
  if (badEku.length > 0) throw new CertificateError(`${who}: extendedKeyUsage must not include ${badEku.join(', ')}`);
  // Key length ("RSA 2048 bits or higher, ECDSA 256 bits or higher") within the algorithm table.
  signatureAlgorithmFor(cert);
}

/** `below` is the number of CA certificates between this one and the leaf. */
function checkCa(cert: NotationCertificate, below: number): void {
  const who = `CA certificate ${cert.subjectString}`;
  const bc = cert.basicConstraints;
  if (!bc || !bc.critical || !bc.ca) throw new CertificateError(`${who}: basicConstraints must be present, critical and cA true`);
  if (bc.pathLen !== undefined && bc.pathLen < below) {
    throw new CertificateError(`${who}: pathLenConstraint ${bc.pathLen} is less than the ${below} CA certificate(s) below it`);
  }
  if (!cert.keyUsage || !cert.keyUsage.critical) throw new CertificateError(`${who}: the keyUsage extension must be present and critical`);
  if (!cert.keyUsage.bits.has('keyCertSign')) throw new CertificateError(`${who}: keyUsage must include keyCertSign`);
}
