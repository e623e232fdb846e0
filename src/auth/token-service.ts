/*
 * Docker registry bearer tokens: JWTs signed ES256, as the token spec describes them
 * (https://distribution.github.io/distribution/spec/auth/jwt/ and /spec/auth/token/).
 *
 * Access token: header {"typ":"JWT","alg":"ES256","kid":...} ("It also must have a kid field"); claims
 * iss, sub ("empty if the client did not authenticate"), aud (the service), exp, nbf, iat, jti and
 * `access`, an array of {type, name, actions}. The kid is the RFC 7638 JWK thumbprint of the public
 * key. Verification follows the spec's list (issuer, audience, nbf..exp, access, signature), always
 * with our own public key and only ES256: `none`, HS256 keyed with our public key, RS256 and every
 * other algorithm are refused before any key is used. It never throws; a bad token is an `{ error }`.
 *
 * Refresh token (OAuth2 `refresh_token` grant, https://distribution.github.io/distribution/spec/auth/oauth/):
 * also a JWT for our service and subject, told apart by its header `typ` ("explicit typing", RFC 8725
 * section 3.11) and by having no `access` claim: an access token is never accepted as a refresh token,
 * nor the reverse. Refresh tokens cannot be revoked one by one; callers check that the subject still
 * exists and is enabled, and may refuse tokens issued before the user's last password change (`issuedAt`).
 */

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { nameProblem } from '../oci/reference.js';
import { ACTIONS, CATALOG_NAME, type Access, type Action, type ResourceType } from './scope.js';

export interface TokenServiceOptions {
  /** `iss` of every token; verification requires it. */
  issuer: string;
  /** The registry's service name: the `aud` of every token and the `service` of the challenge. */
  service: string;
  /** P-256 private key, PKCS#8 PEM (see generateKeyPem). */
  privateKeyPem: string;
  /** Access token lifetime; the spec asks for at least 60 s ("a token should never be returned with less"). */
  ttlSeconds?: number;
  /** Refresh token lifetime; default 30 days. */
  refreshTtlSeconds?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  /** Seconds, for the token response's `expires_in`. */
  expiresIn: number;
  /** RFC 3339 UTC, for the token response's `issued_at`. */
  issuedAt: string;
}

export type VerifiedToken = { subject: string; access: Access[] } | { error: string };
/** `issuedAt` in milliseconds since the epoch. */
export type VerifiedRefresh = { subject: string; issuedAt: number } | { error: string };

/** Clock skew allowed on `nbf` and `exp`. */
export const CLOCK_LEEWAY_SECONDS = 30;
export const DEFAULT_TTL_SECONDS = 300;
export const DEFAULT_REFRESH_TTL_SECONDS = 30 * 24 * 3600;
/** Far above a token of MAX_SCOPES full-length names; anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 64 * 1024;
const MAX_ACCESS_ENTRIES = 256;

const ACCESS_TYP = 'JWT';
const REFRESH_TYP = 'berth-refresh+jwt';
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];

export class TokenService {
  readonly issuer: string;
  readonly service: string;
  readonly ttlSeconds: number;
  readonly refreshTtlSeconds: number;
  /** RFC 7638 thumbprint of the public key, the `kid` of every token. */
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly now: () => number;

  /** A new P-256 private key as PKCS#8 PEM, for the first start. */
  static generateKeyPem(): string {
    return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** Throws when the key is not a P-256 private key or a lifetime is out of range (configuration errors). */
  constructor(options: TokenServiceOptions) {
    this.issuer = options.issuer;
    this.service = options.service;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.refreshTtlSeconds = options.refreshTtlSeconds ?? DEFAULT_REFRESH_TTL_SECONDS;
    this.now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.ttlSeconds) || this.ttlSeconds < 60) throw new RangeError('ttlSeconds must be an integer of at least 60');
    if (!Number.isSafeInteger(this.refreshTtlSeconds) || this.refreshTtlSeconds < 60) {
      throw new RangeError('refreshTtlSeconds must be an integer of at least 60');
    }
    this.privateKey = createPrivateKey(options.privateKeyPem);
    if (this.privateKey.asymmetricKeyType !== 'ec' || this.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the token signing key must be an EC P-256 private key');
    }
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = thumbprint(this.publicKey);
  }

  /** The public key as a JWK (with kid, alg and use), for anyone who verifies our tokens. */
  publicJwk(): Record<string, string> {
    const { kty, crv, x, y } = this.publicKey.export({ format: 'jwk' });
    return { kty: String(kty), crv: String(crv), x: String(x), y: String(y), kid: this.keyId, alg: 'ES256', use: 'sig' };
  }

  /** An access token granting exactly `access` (already the intersection of asked and allowed). */
  async issue(subject: string, access: readonly Access[]): Promise<IssuedToken> {
    const iat = this.nowSeconds();
    const claims = { access: access.map((a) => ({ type: a.type, name: a.name, actions: [...a.actions] })) };
    const token = await this.sign(claims, ACCESS_TYP, subject, iat, this.ttlSeconds);
    return { token, expiresIn: this.ttlSeconds, issuedAt: new Date(iat * 1000).toISOString().replace('.000Z', 'Z') };
  }

  async verify(token: string): Promise<VerifiedToken> {
    const result = await this.check(token, ACCESS_TYP);
    if ('error' in result) return result;
    const access = parseAccessClaim(result.payload.access);
    if (!access) return { error: 'token has no well-formed access claim' };
    return { subject: result.subject, access };
  }

  async issueRefresh(subject: string): Promise<string> {
    return this.sign({}, REFRESH_TYP, subject, this.nowSeconds(), this.refreshTtlSeconds);
  }

  async verifyRefresh(token: string): Promise<VerifiedRefresh> {
    const result = await this.check(token, REFRESH_TYP);
    if ('error' in result) return result;
    if (Object.hasOwn(result.payload, 'access')) return { error: 'not a refresh token' };
    return { subject: result.subject, issuedAt: Number(result.payload.iat) * 1000 };
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private sign(claims: JWTPayload, typ: string, subject: string, iat: number, ttl: number): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ typ, alg: 'ES256', kid: this.keyId })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setAudience(this.service)
      .setExpirationTime(iat + ttl)
      .setNotBefore(iat)
      .setIssuedAt(iat)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.privateKey);
  }

  private async check(token: string, typ: string): Promise<{ subject: string; payload: JWTPayload } | { error: string }> {
    if (typeof token !== 'string' || token.length === 0) return { error: 'no token' };
    if (token.length > MAX_TOKEN_LENGTH) return { error: 'token too long' };
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        issuer: this.issuer,
        audience: this.service,
        typ,
        clockTolerance: CLOCK_LEEWAY_SECONDS,
        currentDate: new Date(this.now()),
        requiredClaims: REQUIRED_CLAIMS,
      });
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.iat !== 'number') {
        return { error: 'token claims have the wrong types' };
      }
      return { subject: payload.sub, payload };
    } catch (e) {
      return { error: describe(e, typ) };
    }
  }
}

/** The `access` claim, checked entry by entry; undefined when anything is off. */
export function parseAccessClaim(value: unknown): Access[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_ACCESS_ENTRIES) return undefined;
  const out: Access[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
    const { type, name, actions } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || !Array.isArray(actions) || actions.length > ACTIONS.length) return undefined;
    if (!actions.every((a): a is Action => typeof a === 'string' && (ACTIONS as readonly string[]).includes(a))) return undefined;
    if (new Set(actions).size !== actions.length) return undefined;
    let resourceType: ResourceType;
    if (type === 'repository' && nameProblem(name) === undefined) resourceType = 'repository';
    else if (type === 'registry' && name === CATALOG_NAME) resourceType = 'registry';
    else return undefined;
    out.push({ type: resourceType, name, actions: [...actions] });
  }
  return out;
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace, base64url. */
function thumbprint(publicKey: KeyObject): string {
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv, kty, x, y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A short reason for logs and the audit trail; never the token or key material. */
function describe(e: unknown, typ: string): string {
  if (e instanceof joseErrors.JWTExpired) return 'token expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'typ') return typ === ACCESS_TYP ? 'not an access token' : 'not a refresh token';
    if (e.reason === 'missing') return `token claim "${e.claim}" missing`;
    if (e.claim === 'nbf' && e.reason === 'check_failed') return 'token not yet valid';
    return `token claim "${e.claim}" invalid`;
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed (ES256 only)';
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  return 'token malformed';
}
