/*
 * Distinguished names for `trustedIdentities` (trust-store-trust-policy.md "Trusted Identities
 * Constraints"): an `x509.subject:` identity is an RFC 4514 string of RDNs; it matches a signing
 * certificate when every attribute it names is present in the certificate's subject with the same
 * value, in any order (a subset match, as notation-go's pkix.IsSubsetDN does).
 *
 * Like notation, names are kept to what a map of attributes can express: multi-valued RDNs (`+`),
 * repeated attribute types and `#hex` values are refused. RFC 4514 attribute types are
 * case-insensitive, so short names are upper-cased; `S` is read as `ST`, as notation-go does.
 * Whitespace around `=` and `,` is tolerated (the spec's own examples write `C=US, ST=WA`).
 * Values compare exactly (the spec defines no case folding).
 */
import { DistinguishedNameError } from './errors.js';

/** Attribute type (upper-case short name, or dotted OID) to value. */
export type DistinguishedName = ReadonlyMap<string, string>;

/** One attribute of a relative distinguished name, as decoded from a certificate. */
export interface RdnAttribute {
  readonly type: string;
  readonly value: string;
}

const MAX_DN_LENGTH = 4096;
const MANDATORY = ['C', 'ST', 'O'] as const;
/** Characters that RFC 4514 section 2.4 requires to be escaped anywhere in a value. */
const MUST_ESCAPE = new Set(['"', ';', '<', '>']);
/** Characters that may follow a backslash (RFC 4514 `special` plus the backslash). */
const ESCAPABLE = new Set(['"', '+', ',', ';', '<', '>', ' ', '#', '=', '\\']);

const fail = (input: string, why: string): never => {
  throw new DistinguishedNameError(`distinguished name ${JSON.stringify(input.slice(0, 200))}: ${why}`);
};

/** RFC 4514 `descr` names are case-insensitive; `S` is notation's alias of `ST`. */
export function normalizeAttributeType(type: string): string {
  if (/^[0-9]/.test(type)) return type;
  const upper = type.toUpperCase();
  return upper === 'S' ? 'ST' : upper;
}

/**
 * Parses an RFC 4514 distinguished name into attribute type -> value.
 * Throws DistinguishedNameError for bad syntax, multi-valued RDNs, repeated types, `#hex`
 * values and empty values.
 */
export function parseDistinguishedName(input: string): DistinguishedName {
  if (typeof input !== 'string' || input.length === 0) return fail(String(input), 'is empty');
  if (input.length > MAX_DN_LENGTH) return fail(input, `is longer than ${MAX_DN_LENGTH} characters`);
  const chars = Array.from(input);
  const out = new Map<string, string>();
  let i = 0;
  const skipSpaces = (): void => {
    while (chars[i] === ' ') i++;
  };
  // Each iteration consumes at least the attribute type, so the loop ends within chars.length steps.
  while (i < chars.length) {
    skipSpaces();
    const typeStart = i;
    if (/[A-Za-z]/.test(chars[i] ?? '')) {
      while (/[A-Za-z0-9-]/.test(chars[i] ?? '')) i++;
    } else if (/[0-9]/.test(chars[i] ?? '')) {
      while (/[0-9.]/.test(chars[i] ?? '')) i++;
      if (!/^[0-9]+(\.[0-9]+)+$/.test(chars.slice(typeStart, i).join(''))) fail(input, 'has a malformed numeric OID');
    } else {
      fail(input, `expected an attribute type at position ${typeStart}`);
    }
    const type = normalizeAttributeType(chars.slice(typeStart, i).join(''));
    skipSpaces();
    if (chars[i] !== '=') fail(input, `expected "=" after attribute type ${type}`);
    i++;
    skipSpaces();
    if (chars[i] === '#') fail(input, `hex-encoded value of ${type} is not supported`);
    const bytes: number[] = [];
    let keep = 0; // bytes up to the last character that is not an unescaped space
    while (i < chars.length && chars[i] !== ',' && chars[i] !== '+') {
      const c = chars[i] as string;
      if (c === '\\') {
        const next = chars[i + 1] ?? '';
        const hex = next + (chars[i + 2] ?? '');
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 3;
        } else if (ESCAPABLE.has(next)) {
          bytes.push(...Buffer.from(next, 'utf8'));
          i += 2;
        } else {
          fail(input, `invalid escape "\\${next}" in the value of ${type}`);
        }
        keep = bytes.length;
        continue;
      }
      if (MUST_ESCAPE.has(c)) fail(input, `character ${JSON.stringify(c)} in the value of ${type} must be escaped`);
      bytes.push(...Buffer.from(c, 'utf8'));
      if (c !== ' ') keep = bytes.length;
      i++;
    }
    let value: string;
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes.slice(0, keep)));
    } catch {
      return fail(input, `the value of ${type} is not valid UTF-8`);
    }
    if (value === '') fail(input, `attribute ${type} has an empty value`);
    if (chars[i] === '+') fail(input, 'multi-valued RDNs (+) are not supported');
    if (out.has(type)) fail(input, `attribute ${type} appears more than once`);
    out.set(type, value);
    if (chars[i] === ',') {
      i++;
      if (i >= chars.length) fail(input, 'ends with ","');
    }
  }
  return out;
}

/**
 * Parses the value of an `x509.subject:` trusted identity: an RFC 4514 name that must name
 * C, ST and O (trust-store-trust-policy.md) and has no "=#". Throws DistinguishedNameError otherwise.
 */
export function parseX509SubjectIdentity(input: string): DistinguishedName {
  // notation-go refuses any "=#" (a hex value after any attribute), so identities stay portable.
  if (input.includes('=#')) fail(input, 'values starting with "#" (hex-encoded) are not supported');
  const dn = parseDistinguishedName(input.trim());
  const missing = MANDATORY.filter((t) => !dn.has(t));
  if (missing.length > 0) fail(input, `must contain the C, ST and O attributes (missing ${missing.join(', ')})`);
  return dn;
}

/** True when every attribute of `subset` has the same value in `of`. */
export function isSubsetDn(subset: DistinguishedName, of: DistinguishedName): boolean {
  for (const [type, value] of subset) if (of.get(type) !== value) return false;
  return true;
}

/**
 * Turns a certificate subject (RDNs in DER order) into a name map. Throws DistinguishedNameError
 * for multi-valued RDNs or repeated attribute types, which an identity cannot be matched against.
 */
export function distinguishedNameOf(rdns: readonly (readonly RdnAttribute[])[]): DistinguishedName {
  const out = new Map<string, string>();
  for (const rdn of rdns) {
    if (rdn.length !== 1) throw new DistinguishedNameError('certificate subject has a multi-valued RDN');
    const { type, value } = rdn[0] as RdnAttribute;
    if (out.has(type)) throw new DistinguishedNameError(`certificate subject has attribute ${type} more than once`);
    out.set(type, value);
  }
  return out;
}

/** RFC 4514 section 2: the string form, last RDN first, with special characters escaped. */
export function formatDistinguishedName(rdns: readonly (readonly RdnAttribute[])[]): string {
  const escape = (v: string): string =>
    v
      .replace(/[\\"+,;<>]/g, (c) => `\\${c}`)
      .replace(/^[ #]/, (c) => `\\${c}`)
      .replace(/ $/, '\\ ')
      .replace(/\0/g, '\\00');
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${escape(a.value)}`).join('+'))
    .join(',');
}
