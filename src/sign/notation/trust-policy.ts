/*
 * Trust policy documents, version "1.0" (specs/trust-store-trust-policy.md "Trust Policy",
 * "Version 1.0"), with the validation rules of the spec as notation-go applies them
 * (verifier/trustpolicy: OCIDocument.Validate, GetVerificationLevel):
 *  - version "1.0"; at least one statement; statement names non-empty and unique;
 *  - signatureVerification.level strict | permissive | audit | skip; `override` maps
 *    authenticity / authenticTimestamp / expiry / revocation to enforce | log (revocation also
 *    skip); integrity cannot be overridden; skip cannot be customised;
 *  - skip statements have no trustStores / trustedIdentities; every other statement has both;
 *  - trustStores entries are `{ca|signingAuthority|tsa}:{name}` with name [a-zA-Z0-9_.-]+;
 *  - trustedIdentities: `*` alone, or `x509.subject: <DN with C, ST, O>` values that do not
 *    overlap (one a subset of another); other prefixes are accepted (they belong to plugins) and
 *    never match here;
 *  - registryScopes: `*` alone, or fully qualified `host[:port]/repository` without `*`; a scope
 *    value appears in one statement only (so there is at most one global statement).
 * Unknown members are refused, so a misspelt key cannot silently weaken a policy.
 * Selection ("Selecting a trust policy based on OCI artifact URI"): the statement whose scope is
 * the artifact's repository, else the global one, else none (the artifact is untrusted).
 */
import { isValidName } from '../../oci/reference.js';
import { TrustPolicyError } from './errors.js';
import { isSubsetDn, parseX509SubjectIdentity, type DistinguishedName } from './distinguished-name.js';

export type VerificationLevelName = 'strict' | 'permissive' | 'audit' | 'skip';
export type ValidationType = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
export type ValidationAction = 'enforce' | 'log' | 'skip';
export type TrustStoreType = 'ca' | 'signingAuthority' | 'tsa';

export interface VerificationLevel {
  /** The preset, or "custom" when `override` changed it. */
  name: VerificationLevelName | 'custom';
  enforcement: Readonly<Record<ValidationType, ValidationAction>>;
}

export interface TrustStoreRef {
  type: TrustStoreType;
  name: string;
}

export interface TrustPolicyStatement {
  name: string;
  registryScopes: string[];
  signatureVerification: { level: VerificationLevelName; override?: Partial<Record<ValidationType, ValidationAction>> };
  trustStores: TrustStoreRef[];
  /** The raw `trustedIdentities` values. */
  trustedIdentities: string[];
  /** Parsed `x509.subject:` identities; empty with `*` (any identity). */
  x509Identities: DistinguishedName[];
  anyIdentity: boolean;
  level: VerificationLevel;
}

export interface TrustPolicyDocument {
  version: '1.0';
  trustPolicies: TrustPolicyStatement[];
}

/** The spec's table ("Signature Verification details"). */
const PRESETS: Record<VerificationLevelName, Record<ValidationType, ValidationAction>> = {
  strict: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
};
const OVERRIDABLE: readonly ValidationType[] = ['authenticity', 'authenticTimestamp', 'expiry', 'revocation'];
const TRUST_STORE_TYPES: readonly TrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
const STORE_NAME = /^[a-zA-Z0-9_.-]+$/;
/** distribution/reference's domain grammar, as notation-go's validateRegistryScopeFormat uses. */
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const MAX_DOCUMENT_BYTES = 1024 * 1024;
const MAX_STATEMENTS = 1000;
const MAX_LIST = 1000;
const X509_SUBJECT = 'x509.subject';

const fail = (msg: string): never => {
  throw new TrustPolicyError(msg);
};

/**
 * Parses and validates a trust policy document (JSON bytes, text, or an already parsed value).
 * Throws TrustPolicyError with the first rule broken.
 */
export function parseTrustPolicyDocument(input: unknown): TrustPolicyDocument {
  let doc: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    if (text.length > MAX_DOCUMENT_BYTES) fail(`trust policy document is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return fail(`trust policy document is not JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(doc)) return fail('trust policy document must be a JSON object');
  onlyKeys(doc, ['version', 'trustPolicies'], 'trust policy document');
  if (doc.version === undefined || doc.version === '') fail('trust policy document is missing version');
  if (doc.version !== '1.0') fail(`trust policy document version ${JSON.stringify(doc.version)} is not supported (expected "1.0")`);
  const list = doc.trustPolicies;
  if (!Array.isArray(list) || list.length === 0) return fail('trust policy document must have at least one statement in trustPolicies');
  if (list.length > MAX_STATEMENTS) fail(`trust policy document has more than ${MAX_STATEMENTS} statements`);
  const statements = list.map((s, i) => parseStatement(s, i));
  const names = new Set<string>();
  const scopeOwner = new Map<string, string>();
  for (const s of statements) {
    if (names.has(s.name)) fail(`multiple trust policy statements use the name ${JSON.stringify(s.name)}; names must be unique`);
    names.add(s.name);
    for (const scope of s.registryScopes) {
      const owner = scopeOwner.get(scope);
      if (owner !== undefined) {
        const both = `${JSON.stringify(owner)} and ${JSON.stringify(s.name)}`;
        fail(`registry scope ${JSON.stringify(scope)} is in statements ${both}; a scope belongs to one statement`);
      }
      scopeOwner.set(scope, s.name);
    }
  }
  return { version: '1.0', trustPolicies: statements };
}

function parseStatement(v: unknown, i: number): TrustPolicyStatement {
  if (!isObject(v)) return fail(`trustPolicies[${i}] must be an object`);
  onlyKeys(v, ['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'], `trustPolicies[${i}]`);
  if (typeof v.name !== 'string' || v.name === '') return fail(`trustPolicies[${i}] is missing a name`);
  const name = v.name;
  const where = `trust policy statement ${JSON.stringify(name)}`;
  const signatureVerification = parseSignatureVerification(v.signatureVerification, where);
  const level = verificationLevel(signatureVerification, where);
  const trustStores = stringList(v.trustStores, `${where} trustStores`);
  const trustedIdentities = stringList(v.trustedIdentities, `${where} trustedIdentities`);
  let stores: TrustStoreRef[] = [];
  let x509Identities: DistinguishedName[] = [];
  if (level.name === 'skip') {
    if (trustStores.length > 0 || trustedIdentities.length > 0) {
      fail(`${where} skips signature verification but has trustStores or trustedIdentities; remove them`);
    }
  } else {
    if (trustStores.length === 0 || trustedIdentities.length === 0) fail(`${where} needs both trustStores and trustedIdentities`);
    stores = trustStores.map((s) => parseTrustStoreRef(s, where));
    x509Identities = parseIdentities(trustedIdentities, where);
  }
  return {
    name,
    registryScopes: parseScopes(v.registryScopes, where),
    signatureVerification,
    trustStores: stores,
    trustedIdentities,
    x509Identities,
    anyIdentity: trustedIdentities.includes('*'),
    level,
  };
}

function parseSignatureVerification(v: unknown, where: string): TrustPolicyStatement['signatureVerification'] {
  if (!isObject(v)) return fail(`${where} is missing signatureVerification`);
  onlyKeys(v, ['level', 'override'], `${where} signatureVerification`);
  if (v.level === undefined || v.level === '') fail(`${where} signatureVerification.level is missing`);
  if (typeof v.level !== 'string' || !(v.level in PRESETS)) {
    fail(`${where} signatureVerification.level ${JSON.stringify(v.level)} is not strict, permissive, audit or skip`);
  }
  if (v.override !== undefined && !isObject(v.override)) fail(`${where} signatureVerification.override must be an object`);
  return { level: v.level as VerificationLevelName, override: v.override as TrustPolicyStatement['signatureVerification']['override'] };
}

/** The enforcement of each validation for a statement: its preset with `override` applied. */
function verificationLevel(sv: TrustPolicyStatement['signatureVerification'], where: string): VerificationLevel {
  const base = PRESETS[sv.level];
  const override = Object.entries(sv.override ?? {});
  if (override.length === 0) return { name: sv.level, enforcement: { ...base } };
  if (sv.level === 'skip') fail(`${where}: level skip cannot be customised with override`);
  const enforcement = { ...base };
  for (const [type, action] of override) {
    if (type === 'integrity') fail(`${where}: integrity verification cannot be overridden`);
    if (!(OVERRIDABLE as readonly string[]).includes(type)) {
      fail(`${where}: override key ${JSON.stringify(type)} is not one of ${OVERRIDABLE.join(', ')}`);
    }
    if (action !== 'enforce' && action !== 'log' && action !== 'skip') {
      fail(`${where}: override action ${JSON.stringify(action)} for ${type} is not enforce, log or skip`);
    }
    if (action === 'skip' && type !== 'revocation') fail(`${where}: ${type} verification cannot be skipped (only revocation can)`);
    enforcement[type as ValidationType] = action as ValidationAction;
  }
  return { name: 'custom', enforcement };
}

function parseTrustStoreRef(s: string, where: string): TrustStoreRef {
  const i = s.indexOf(':');
  if (i < 0) fail(`${where} has malformed trust store ${JSON.stringify(s)}; the format is <type>:<name>`);
  const type = s.slice(0, i);
  const name = s.slice(i + 1);
  if (!(TRUST_STORE_TYPES as readonly string[]).includes(type)) {
    fail(`${where} uses unsupported trust store type ${JSON.stringify(type)} in ${JSON.stringify(s)} (ca, signingAuthority or tsa)`);
  }
  if (!STORE_NAME.test(name)) fail(`${where} uses invalid trust store name ${JSON.stringify(name)} in ${JSON.stringify(s)}; names are [a-zA-Z0-9_.-]+`);
  return { type: type as TrustStoreType, name };
}

function parseIdentities(values: string[], where: string): DistinguishedName[] {
  if (values.includes('*')) {
    if (values.length > 1) fail(`${where} uses the wildcard trusted identity "*" together with other values`);
    return [];
  }
  const parsed: { raw: string; dn: DistinguishedName }[] = [];
  for (const raw of values) {
    if (raw === '') fail(`${where} has an empty trusted identity`);
    const i = raw.indexOf(':');
    if (i < 0) fail(`${where} has trusted identity ${JSON.stringify(raw)} without a "<type>:" prefix`);
    if (raw.slice(0, i) !== X509_SUBJECT) continue; // a plugin's identity type; never matched here
    const value = raw.slice(i + 1);
    if (value.trim() === '') fail(`${where} has trusted identity ${JSON.stringify(raw)} without a value`);
    try {
      parsed.push({ raw, dn: parseX509SubjectIdentity(value) });
    } catch (e) {
      fail(`${where} has invalid trusted identity ${JSON.stringify(raw)}: ${(e as Error).message}`);
    }
  }
  for (const a of parsed) {
    for (const b of parsed) {
      if (a !== b && isSubsetDn(a.dn, b.dn)) fail(`${where} has overlapping trusted identities ${JSON.stringify(a.raw)} and ${JSON.stringify(b.raw)}`);
    }
  }
  return parsed.map((p) => p.dn);
}

function parseScopes(v: unknown, where: string): string[] {
  const scopes = stringList(v, `${where} registryScopes`);
  if (scopes.length === 0) fail(`${where} has no registryScopes; it needs at least one`);
  if (scopes.length > 1 && scopes.includes('*')) fail(`${where} uses the wildcard registry scope "*" together with other scopes`);
  for (const s of scopes) if (s !== '*') checkScope(s, `${where}: registry scope`);
  return scopes;
}

/** `host[:port]/repository`, fully qualified, no scheme, tag, digest or wildcard. */
function checkScope(scope: string, what: string): void {
  if (scope.includes('*')) fail(`${what} ${JSON.stringify(scope)} contains a wildcard; only "*" alone is allowed`);
  const slash = scope.indexOf('/');
  const domain = slash < 0 ? '' : scope.slice(0, slash);
  const repository = slash < 0 ? '' : scope.slice(slash + 1);
  if (scope.length > 1024 || !DOMAIN.test(domain) || !isValidName(repository)) {
    fail(`${what} ${JSON.stringify(scope)} is not a fully qualified repository such as registry.example.com/team/app`);
  }
}

/**
 * The statement that applies to `artifactReference` (`host[:port]/repository@digest`): the one
 * listing the repository, else the global one; undefined when none applies. Throws
 * TrustPolicyError when the reference is not of that form.
 */
export function selectTrustPolicy(doc: TrustPolicyDocument, artifactReference: string): TrustPolicyStatement | undefined {
  const repository = artifactRepository(artifactReference);
  return doc.trustPolicies.find((s) => s.registryScopes.includes(repository)) ?? doc.trustPolicies.find((s) => s.registryScopes.includes('*'));
}

/** `host/repo` of `host/repo@sha256:...`; throws TrustPolicyError otherwise. */
export function artifactRepository(artifactReference: string): string {
  const at = typeof artifactReference === 'string' ? artifactReference.lastIndexOf('@') : -1;
  if (at < 0) fail(`artifact reference ${JSON.stringify(String(artifactReference).slice(0, 200))} must be host/repository@digest`);
  const repository = artifactReference.slice(0, at);
  checkScope(repository, 'artifact reference repository');
  return repository;
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return fail(`${what} must be an array of strings`);
  if (v.length > MAX_LIST) fail(`${what} has more than ${MAX_LIST} entries`);
  return v as string[];
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where} has unknown member ${JSON.stringify(k)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
