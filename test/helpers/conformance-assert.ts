/**
 * Assertions for the OCI conformance suite: the spec's error body, upload
 * session headers and content digests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describeReply, type OciClient, type Reply } from './conformance-client.js';

/** The spec's error codes (distribution-spec "Error Codes") plus the legacy Docker ones berth documents. */
export const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  // Legacy Docker codes ("Legacy Docker support error codes") and berth's catch-alls.
  'TAG_INVALID',
  'RANGE_INVALID',
  'UNKNOWN',
  'UNAVAILABLE',
] as const;

export interface ErrorBody {
  errors: Array<{ code: string; message?: string; detail?: unknown }>;
}

/**
 * Asserts an error reply: one of the (status, code) pairs, `Content-Type:
 * application/json`, and a body in the format of distribution-spec "Error
 * Codes" (an `errors` array of objects whose `code` is upper case and
 * underscores, `message` a string when present).
 */
export function expectErrorOneOf(r: Reply, allowed: ReadonlyArray<readonly [number, string]>, what = ''): ErrorBody {
  const ctx = `${what ? what + ': ' : ''}${describeReply(r)}`;
  const statuses = [...new Set(allowed.map(([s]) => s))];
  assert.ok(statuses.includes(r.status), `expected status ${statuses.join(' or ')}; got ${ctx}`);
  const ct = r.header('content-type') ?? '';
  assert.equal(ct.split(';')[0]!.trim().toLowerCase(), 'application/json', `error Content-Type; ${ctx}`);
  let body: ErrorBody;
  try {
    body = r.json<ErrorBody>();
  } catch {
    assert.fail(`error body is not JSON; ${ctx}`);
  }
  assert.ok(body !== null && typeof body === 'object' && Array.isArray(body.errors), `body has an errors array; ${ctx}`);
  assert.ok(body.errors.length >= 1, `errors is not empty; ${ctx}`);
  for (const e of body.errors) {
    assert.equal(typeof e.code, 'string', `errors[].code is a string; ${ctx}`);
    assert.match(e.code, /^[A-Z_]+$/, `errors[].code is upper case and underscores; ${ctx}`);
    assert.ok((SPEC_ERROR_CODES as readonly string[]).includes(e.code), `errors[].code ${e.code} is one of the spec's codes; ${ctx}`);
    if (e.message !== undefined) assert.equal(typeof e.message, 'string', `errors[].message is a string; ${ctx}`);
  }
  const code = body.errors[0]!.code;
  const codes = allowed.filter(([s]) => s === r.status).map(([, c]) => c);
  assert.ok(codes.includes(code), `expected errors[0].code ${codes.join(' or ')} with ${r.status}; got ${code}; ${ctx}`);
  return body;
}

export function expectError(r: Reply, status: number, code: string | readonly string[], what = ''): ErrorBody {
  const codes = typeof code === 'string' ? [code] : code;
  return expectErrorOneOf(
    r,
    codes.map((c) => [status, c] as const),
    what,
  );
}

/** Asserts an upload reply's Range header is `0-<end>` (distribution-spec "Pushing a blob in chunks"). */
export function expectRange(r: Reply, end: number, what = ''): void {
  assert.equal(r.header('range'), `0-${end}`, `Range of ${what}: ${describeReply(r)}`);
}

/** Asserts the headers every upload-session reply carries (Location, Range, Docker-Upload-UUID). */
export function expectUploadHeaders(client: OciClient, r: Reply, repo: string, end: number, what = ''): string {
  const loc = r.header('location');
  assert.ok(loc, `${what}: Location present; ${describeReply(r)}`);
  const path = client.target(loc);
  assert.ok(path.startsWith(`/v2/${repo}/blobs/uploads/`), `${what}: Location ${loc} is an upload URL of ${repo}`);
  expectRange(r, end, what);
  const uuid = r.header('docker-upload-uuid');
  assert.ok(uuid, `${what}: Docker-Upload-UUID present; ${describeReply(r)}`);
  assert.ok(path.includes(uuid), `${what}: Location ${loc} contains the upload UUID ${uuid}`);
  return path;
}

/** Digest of `bytes` in the algorithm of `digest` (sha256 or sha512). */
export function digestIn(algorithm: string, bytes: Uint8Array): string {
  assert.ok(algorithm === 'sha256' || algorithm === 'sha512', `algorithm ${algorithm}`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Asserts a Docker-Content-Digest header names the digest of `bytes` (any algorithm the header uses). */
export function expectContentDigest(r: Reply, bytes: Uint8Array, expected?: string): void {
  const d = r.header('docker-content-digest');
  assert.ok(d, `Docker-Content-Digest present; ${describeReply(r)}`);
  const alg = d.split(':')[0]!;
  assert.equal(d, digestIn(alg, bytes), 'Docker-Content-Digest is the digest of the content');
  if (expected !== undefined) assert.equal(d, expected);
}
