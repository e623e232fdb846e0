/*
 * X.509 certificates as the Notary Project reads them. node:crypto parses and verifies
 * certificates (OpenSSL) but does not expose extension criticality, key usage bits or basic
 * constraints, which the spec's certificate requirements need; those are read from the DER with
 * @sigstore/core's ASN.1 parser. Only basicConstraints, keyUsage and extendedKeyUsage are honoured
 * (signature-specification.md "Other requirements"); CRL distribution points and OCSP locations
 * are only noted, so revocation can be reported as unavailable.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { CertificateError } from './errors.js';
import { formatDistinguishedName, normalizeAttributeType, type RdnAttribute } from './distinguished-name.js';

export type KeyUsageBit =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';
/** RFC 5280 section 4.2.1.3, in bit order. */
const KEY_USAGE_BITS: readonly KeyUsageBit[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

export const Oid = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  crlDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocsp: '1.3.6.1.5.5.7.48.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/** RFC 4514 section 3 short names, plus Go's SERIALNUMBER and POSTALCODE. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.17': 'POSTALCODE',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
};

/** A parsed certificate with the fields the Notary Project's rules look at. */
export interface NotationCertificate {
  readonly der: Buffer;
  /** For signature checks and the public key. */
  readonly x509: X509Certificate;
  /** Lowercase hex SHA-256 of the DER (the thumbprint annotation's unit). */
  readonly sha256: string;
  readonly subject: readonly (readonly RdnAttribute[])[];
  /** RFC 4514 string of the subject, for messages and reports. */
  readonly subjectString: string;
  /** Encoded subject and issuer names, compared byte for byte to link a chain. */
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly signatureAlgorithmOid: string;
  readonly basicConstraints?: { readonly critical: boolean; readonly ca: boolean; readonly pathLen?: number };
  readonly keyUsage?: { readonly critical: boolean; readonly bits: ReadonlySet<KeyUsageBit> };
  readonly extKeyUsage?: readonly string[];
  /** Carries a CRL distribution point or an OCSP location. */
  readonly hasRevocationInfo: boolean;
}

export const MAX_CERTIFICATE_BYTES = 64 * 1024;

/** Parses one DER certificate. Throws CertificateError naming what is malformed. */
export function parseCertificate(der: Uint8Array): NotationCertificate {
  if (der.byteLength === 0 || der.byteLength > MAX_CERTIFICATE_BYTES) {
    throw new CertificateError(`certificate must be 1 to ${MAX_CERTIFICATE_BYTES} bytes of DER, got ${der.byteLength}`);
  }
  const bytes = Buffer.from(der);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(bytes);
  } catch (e) {
    throw new CertificateError(`not a DER X.509 certificate: ${(e as Error).message}`);
  }
  try {
    return readFields(bytes, x509);
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`malformed certificate ${x509.subject.replace(/\n/g, ', ')}: ${(e as Error).message}`);
  }
}

function readFields(der: Buffer, x509: X509Certificate): NotationCertificate {
  const root = ASN1Obj.parseBuffer(Buffer.from(der));
  const tbs = need(root.subs[0], 'tbsCertificate');
  // The version field is an optional [0]; version 1 certificates start with the serial number.
  const at = tbs.subs[0]?.tag.isContextSpecific(0) ? 1 : 0;
  const issuer = need(tbs.subs[at + 2], 'issuer');
  const validity = need(tbs.subs[at + 3], 'validity');
  const subjectName = need(tbs.subs[at + 4], 'subject');
  const extensions = tbs.subs.find((s) => s.tag.isContextSpecific(3))?.subs[0]?.subs ?? [];
  const subject = decodeName(subjectName);
  const cert: {
    -readonly [K in keyof NotationCertificate]: NotationCertificate[K];
  } = {
    der,
    x509,
    sha256: createHash('sha256').update(der).digest('hex'),
    subject,
    subjectString: formatDistinguishedName(subject),
    subjectDer: subjectName.toDER(),
    issuerDer: issuer.toDER(),
    notBefore: need(validity.subs[0], 'notBefore').toDate(),
    notAfter: need(validity.subs[1], 'notAfter').toDate(),
    signatureAlgorithmOid: need(need(root.subs[1], 'signatureAlgorithm').subs[0], 'algorithm').toOID(),
    hasRevocationInfo: false,
  };
  const seen = new Set<string>();
  for (const ext of extensions) {
    const oid = need(ext.subs[0], 'extension id').toOID();
    const critical = ext.subs.length === 3 ? need(ext.subs[1], 'critical').toBoolean() : false;
    const value = need(ext.subs[ext.subs.length - 1], 'extension value');
    if (seen.has(oid)) throw new CertificateError(`certificate ${cert.subjectString} repeats extension ${oid}`);
    seen.add(oid);
    if (oid === Oid.basicConstraints) {
      let ca = false;
      let pathLen: number | undefined;
      for (const field of need(value.subs[0], 'basicConstraints').subs) {
        if (field.tag.isBoolean()) ca = field.toBoolean();
        else if (field.tag.isInteger()) pathLen = Number(field.toInteger());
      }
      cert.basicConstraints = { critical, ca, pathLen };
    } else if (oid === Oid.keyUsage) {
      const flags = need(value.subs[0], 'keyUsage').toBitString();
      const bits = new Set(KEY_USAGE_BITS.filter((_, i) => flags[i] === 1));
      cert.keyUsage = { critical, bits };
    } else if (oid === Oid.extKeyUsage) {
      cert.extKeyUsage = need(value.subs[0], 'extKeyUsage').subs.map((o) => o.toOID());
    } else if (oid === Oid.crlDistributionPoints) {
      cert.hasRevocationInfo = true;
    } else if (oid === Oid.authorityInfoAccess) {
      const methods = (value.subs[0]?.subs ?? []).map((ad) => ad.subs[0]?.toOID());
      if (methods.includes(Oid.ocsp)) cert.hasRevocationInfo = true;
    }
  }
  return cert;
}

function need(o: ASN1Obj | undefined, what: string): ASN1Obj {
  if (!o) throw new CertificateError(`certificate is missing its ${what}`);
  return o;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
function decodeName(name: ASN1Obj): RdnAttribute[][] {
  return name.subs.map((rdn) =>
    rdn.subs.map((atv) => {
      const oid = need(atv.subs[0], 'attribute type').toOID();
      return { type: ATTRIBUTE_NAMES[oid] ?? normalizeAttributeType(oid), value: decodeString(need(atv.subs[1], 'attribute value')) };
    }),
  );
}

function decodeString(v: ASN1Obj): string {
  switch (v.tag.number) {
    case 0x1e: // BMPString
      return Buffer.from(v.value).swap16().toString('utf16le');
    case 0x14: // TeletexString: read as Latin-1, as most decoders do
      return v.value.toString('latin1');
    default: // UTF8String, PrintableString, IA5String, NumericString, VisibleString
      return v.value.toString('utf8');
  }
}

/**
 * Reads every certificate of a trust store file: PEM (one or more CERTIFICATE blocks) or DER
 * (one or more concatenated certificates). Throws CertificateError when nothing parses.
 */
export function parseCertificateFile(bytes: Uint8Array, maxCertificates = 100): NotationCertificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const ders: Buffer[] = [];
  if (text.includes('-----BEGIN')) {
    const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;
    for (const m of text.matchAll(re)) {
      if (ders.length >= maxCertificates) throw new CertificateError(`more than ${maxCertificates} certificates in one file`);
      ders.push(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
    }
  } else {
    let rest = Buffer.from(bytes);
    while (rest.length > 0) {
      if (ders.length >= maxCertificates) throw new CertificateError(`more than ${maxCertificates} certificates in one file`);
      const len = derLength(rest);
      ders.push(rest.subarray(0, len));
      rest = rest.subarray(len);
    }
  }
  if (ders.length === 0) throw new CertificateError('no certificate found (expected PEM CERTIFICATE blocks or DER)');
  return ders.map((d) => parseCertificate(d));
}

/** Total length of the DER SEQUENCE at the start of `b` (tag, length and content). */
function derLength(b: Buffer): number {
  if (b.length < 2 || b[0] !== 0x30) throw new CertificateError('not a DER certificate (expected a SEQUENCE)');
  const first = b[1] as number;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || b.length < 2 + n) throw new CertificateError('unsupported DER length encoding');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (b[2 + i] as number);
  if (2 + n + len > b.length) throw new CertificateError('truncated DER certificate');
  return 2 + n + len;
}
