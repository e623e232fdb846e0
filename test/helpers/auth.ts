/**
 * Helpers for the access-control process tests (test/auth/): a server with auth on, management calls
 * as the bootstrapped admin, token requests, JWTs decoded and signed by hand (node:crypto, not berth's
 * code or its JWT library), the server's signing key read straight from its metadata database, and a
 * bounded wait for audit entries (the server flushes them about once a second).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startServer, type TestServer } from './server.js';
import { profileEnv } from './backend-profile.js';
import { sleep } from './e2e-process.js';
import type { Blob } from './oci.js';

export interface Creds {
  username: string;
  password: string;
}

export interface AuthServer {
  server: TestServer;
  /** Base URL, no trailing slash. */
  url: string;
  admin: Creds;
}

/** A password nobody guesses; long enough for the API's 8-character minimum. */
export const randomPassword = (): string => randomBytes(18).toString('base64url');

/** Starts the built server with access control on, an admin from the environment, and no periodic GC/lifecycle. */
export async function startAuthServer(env: Record<string, string> = {}): Promise<AuthServer> {
  const admin = { username: 'admin', password: randomPassword() };
  const server = await startServer({
    env: {
      BERTH_AUTH_ENABLED: 'true',
      BERTH_AUTH_ADMIN_USERNAME: admin.username,
      BERTH_AUTH_ADMIN_PASSWORD: admin.password,
      BERTH_GC_SCHEDULE: '',
      BERTH_LIFECYCLE_SCHEDULE: '',
      ...env,
    },
  });
  return { server, url: server.url, admin };
}

/** RFC 7617 basic credentials. */
export const basic = (c: Creds): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
export const bearer = (token: string): string => `Bearer ${token}`;

export interface ErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  json: T | undefined;
  /** The first entry of a `{"errors": [...]}` body. */
  error: ErrorEntry | undefined;
}

export interface RequestOptions {
  /** The whole Authorization header value (see basic, bearer). */
  auth?: string;
  /** JSON-encoded unless a string or Buffer. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to 127.0.0.1; never throws on an HTTP error status. */
export async function http<T = unknown>(base: string, method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== undefined) headers.Authorization = opts.auth;
  const init: RequestInit = { method, headers, redirect: 'manual' };
  if (opts.body !== undefined) {
    const raw = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    init.body = new Uint8Array(raw);
    if (headers['Content-Type'] === undefined && !Buffer.isBuffer(opts.body) && typeof opts.body !== 'string') headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(`${base}${path}`, init);
  const bytes = Buffer.from(await r.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    json = undefined;
  }
  const error = (json as { errors?: ErrorEntry[] } | undefined)?.errors?.[0];
  return { status: r.status, headers: r.headers, bytes, text, json: json as T | undefined, error };
}

/** Asserts status and error code; returns the result for further checks. */
export function expectError<T>(r: HttpResult<T>, status: number, code: string, what: string): HttpResult<T> {
  assert.equal(r.status, status, `${what}: expected ${status} ${code}, got ${r.status} ${r.text.slice(0, 500)}`);
  assert.equal(r.error?.code, code, `${what}: expected code ${code}, body ${r.text.slice(0, 500)}`);
  return r;
}

/** Asserts a 2xx-or-given status. */
export function expectStatus<T>(r: HttpResult<T>, status: number, what: string): HttpResult<T> {
  assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}

// --- management API as the admin --------------------------------------------------------------------

export async function asAdmin<T = unknown>(as: AuthServer, method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
  return http<T>(as.url, method, path, { auth: basic(as.admin), body });
}

export const qs = (params: Record<string, string>): string => `?${new URLSearchParams(params).toString()}`;

export async function createUser(as: AuthServer, username: string, systemAdmin = false): Promise<Creds> {
  const password = randomPassword();
  expectStatus(await asAdmin(as, 'POST', '/api/v1/users', { name: username, password, systemAdmin }), 201, `create user ${username}`);
  return { username, password };
}

export async function createProject(as: AuthServer, name: string, isPublic: boolean): Promise<void> {
  expectStatus(await asAdmin(as, 'POST', '/api/v1/projects', { name, public: isPublic }), 201, `create project ${name}`);
}

export async function setMember(as: AuthServer, project: string, username: string, role: string): Promise<void> {
  expectStatus(await asAdmin(as, 'PUT', `/api/v1/members${qs({ project })}`, { username, role }), 200, `member ${username} of ${project}`);
}

export interface CreatedRobot extends Creds {
  expiresAt: string | null;
  createdAt: string;
}

export async function createRobot(
  as: AuthServer,
  spec: { project: string; name: string; actions: string[]; expiresInSeconds?: number; repositoryPattern?: string },
): Promise<CreatedRobot> {
  const r = expectStatus(
    await asAdmin<{ name: string; secret: string; expiresAt: string | null; createdAt: string }>(as, 'POST', '/api/v1/robots', spec),
    201,
    `create robot ${spec.name}`,
  );
  const body = r.json!;
  assert.equal(body.name, `robot$${spec.project}+${spec.name}`, 'robot name format (docs/management-api.md)');
  assert.equal(typeof body.secret, 'string');
  return { username: body.name, password: body.secret, expiresAt: body.expiresAt, createdAt: body.createdAt };
}

export interface Member {
  project: string;
  username: string;
  role: string;
}

export async function members(as: AuthServer, project: string): Promise<Member[]> {
  const r = expectStatus(await asAdmin<{ members: Member[] }>(as, 'GET', `/api/v1/members${qs({ project })}`), 200, `members of ${project}`);
  return [...r.json!.members].sort((a, b) => a.username.localeCompare(b.username));
}

// --- registry reads and pushes with credentials ------------------------------------------------------

/** Tag list of a repository as the admin (sorted), or undefined when the repository is unknown. */
export async function tagsOf(as: AuthServer, repo: string): Promise<string[] | undefined> {
  const r = await http<{ tags: string[] | null }>(as.url, 'GET', `/v2/${repo}/tags/list`, { auth: basic(as.admin) });
  if (r.status === 404) return undefined;
  expectStatus(r, 200, `tags of ${repo}`);
  return [...(r.json!.tags ?? [])].sort();
}

/** sha256 of the manifest bytes served for repo:ref as the admin (computed here), or undefined on 404. */
export async function manifestDigestOf(as: AuthServer, repo: string, ref: string): Promise<string | undefined> {
  const r = await http(as.url, 'GET', `/v2/${repo}/manifests/${ref}`, {
    auth: basic(as.admin),
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  if (r.status === 404) return undefined;
  expectStatus(r, 200, `manifest ${repo}:${ref}`);
  return 'sha256:' + createHash('sha256').update(r.bytes).digest('hex');
}

/** Monolithic blob upload (POST ?digest=) with credentials. */
export async function pushBlobAs(base: string, repo: string, b: Blob, auth: string): Promise<HttpResult> {
  return http(base, 'POST', `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
    auth,
    body: b.bytes,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

export async function putManifestAs(base: string, repo: string, ref: string, manifest: Blob, auth: string): Promise<HttpResult> {
  return http(base, 'PUT', `/v2/${repo}/manifests/${ref}`, {
    auth,
    body: manifest.bytes,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
}

/** Pushes blobs then the manifest; asserts every step succeeds. */
export async function pushImageAs(base: string, repo: string, ref: string, img: { config: Blob; layers: Blob[]; manifest: Blob }, auth: string): Promise<void> {
  for (const b of [img.config, ...img.layers]) expectStatus(await pushBlobAs(base, repo, b, auth), 201, `push blob ${b.digest} to ${repo}`);
  expectStatus(await putManifestAs(base, repo, ref, img.manifest, auth), 201, `push manifest ${repo}:${ref}`);
}

// --- tokens -----------------------------------------------------------------------------------------

export interface TokenAnswer {
  status: number;
  token: string | undefined;
  result: HttpResult<{ token?: string; access_token?: string; expires_in?: number; refresh_token?: string }>;
}

/** GET /token?service=berth&scope=... with optional basic credentials. */
export async function getToken(base: string, scopes: string[], creds?: Creds): Promise<TokenAnswer> {
  const p = new URLSearchParams({ service: 'berth' });
  for (const s of scopes) p.append('scope', s);
  const result = await http<{ token?: string }>(base, 'GET', `/token?${p.toString()}`, creds ? { auth: basic(creds) } : {});
  return { status: result.status, token: result.json?.token, result };
}

/** A token that must be issued (200). */
export async function mustToken(base: string, scopes: string[], creds?: Creds): Promise<string> {
  const t = await getToken(base, scopes, creds);
  assert.equal(t.status, 200, `token for ${scopes.join(' ')} as ${creds?.username ?? 'anonymous'}: ${t.result.text.slice(0, 500)}`);
  assert.equal(typeof t.token, 'string');
  return t.token!;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown> & { access?: AccessEntry[] };
  signature: Buffer;
}

/** Splits and base64url-decodes a compact JWS (RFC 7515 section 7.1); no verification. */
export function decodeJwt(token: string): Jwt {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'a compact JWS has three parts');
  const dec = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: dec(parts[0]!), payload: dec(parts[1]!), signature: Buffer.from(parts[2]!, 'base64url') };
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** ES256 JWS by hand: ECDSA P-256 over SHA-256, signature as R || S (RFC 7518 section 3.4). */
export function signEs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url({ ...header, alg: 'ES256' })}.${b64url(payload)}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

/** An unsecured JWS (RFC 7515 appendix A.5): `alg: none` and an empty signature. */
export function unsecuredJwt(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64url({ ...header, alg: 'none' })}.${b64url(payload)}.`;
}

/**
 * HS256 keyed with the server's public key (SPKI PEM): the classic algorithm-confusion forgery
 * (RFC 8725 section 2.1), which a verifier that trusts the header's `alg` would accept.
 */
export function hs256WithPublicKey(header: Record<string, unknown>, payload: Record<string, unknown>, serverKey: KeyObject): string {
  const secret = createPublicKey(serverKey).export({ type: 'spki', format: 'pem' });
  const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims like the server's access tokens (Docker token spec, "JWT"), valid now for `ttl` seconds. */
export function accessClaims(subject: string, access: AccessEntry[], opts: { iss?: string; aud?: string; now?: number; ttl?: number } = {}): Record<string, unknown> {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  return {
    iss: opts.iss ?? 'berth',
    sub: subject,
    aud: opts.aud ?? 'berth',
    exp: now + (opts.ttl ?? 300),
    nbf: now - 5,
    iat: now - 5,
    jti: randomBytes(16).toString('base64url'),
    access,
  };
}

/**
 * The server's token signing key, read from its metadata database (table auth_keys, id 'token'): the
 * SQLite file DATA/berth.db in the embedded profile, the per-data-dir PostgreSQL database otherwise.
 */
export async function serverSigningKey(server: TestServer): Promise<KeyObject> {
  const env = await profileEnv(server.dataDir);
  const pgUrl = env.BERTH_METADATA_POSTGRES_URL;
  let pem: string | undefined;
  if (pgUrl) {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      const r = await c.query<{ private_pem: string }>("SELECT private_pem FROM auth_keys WHERE id = 'token'");
      pem = r.rows[0]?.private_pem;
    } finally {
      await c.end();
    }
  } else {
    const db = new Database(join(server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
    try {
      pem = (db.prepare("SELECT private_pem FROM auth_keys WHERE id = 'token'").get() as { private_pem: string } | undefined)?.private_pem;
    } finally {
      db.close();
    }
  }
  assert.ok(pem, 'no token signing key in auth_keys');
  return createPrivateKey(pem);
}

// --- challenges -------------------------------------------------------------------------------------

/** The parameters of a `WWW-Authenticate: Bearer k="v",...` header (RFC 6750 section 3). */
export function parseBearerChallenge(value: string | null): Record<string, string> | undefined {
  if (value === null || !/^Bearer /i.test(value)) return undefined;
  const out: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) out[m[1]!] = m[2]!;
  return out;
}

// --- audit ------------------------------------------------------------------------------------------

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
  address: string | null;
  outcome: string | null;
  project: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: number | null;
}

/** Every page of GET /api/v1/audit for the query, following `next` as `before` (bounded). */
export async function auditAll(as: AuthServer, query: Record<string, string>, pageSize = 100): Promise<{ entries: AuditEntry[]; pages: number }> {
  const entries: AuditEntry[] = [];
  let before: number | null = null;
  let pages = 0;
  for (; pages < 1000; ) {
    const params: Record<string, string> = { ...query, limit: String(pageSize) };
    if (before !== null) params.before = String(before);
    const r = expectStatus(await asAdmin<AuditPage>(as, 'GET', `/api/v1/audit${qs(params)}`), 200, 'audit page');
    pages++;
    entries.push(...r.json!.entries);
    before = r.json!.next;
    if (before === null) break;
  }
  return { entries, pages };
}

/**
 * Polls the audit log (bounded by timeoutMs) until `done` accepts the entries; returns the last
 * entries seen either way, so the caller's assertions show what was there.
 */
export async function waitForAudit(
  as: AuthServer,
  query: Record<string, string>,
  done: (entries: AuditEntry[]) => boolean,
  timeoutMs = 10_000,
): Promise<AuditEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { entries } = await auditAll(as, query, 1000);
    if (done(entries) || Date.now() >= deadline) return entries;
    await sleep(250);
  }
}
