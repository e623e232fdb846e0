/**
 * Helpers for the signing process tests: the compiled CLI run as a child process (bounded, with a
 * temporary DOCKER_CONFIG and none of the developer's BERTH_* or COSIGN_* settings), images pushed
 * with skopeo from OCI layouts built by test/helpers/oci-layout.ts, and registry reads over HTTP.
 * Signatures are checked here independently of berth's code: DSSE's pre-authentication encoding
 * and the ECDSA verification come from node:crypto and the DSSE spec, not from src/sign.
 */
import assert from 'node:assert/strict';
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { onPath, runCommand } from '../helpers/e2e-process.js';
import { imageBlobs, indexBlobs, writeLayout, type LayoutImage, type LayoutIndex } from '../helpers/oci-layout.js';

export const SKOPEO = onPath('skopeo');
export const skipWithoutSkopeo = SKOPEO === undefined ? 'skopeo is not on PATH (Debian/Ubuntu: apt-get install skopeo)' : false;

export { berth, fails, ok, type CliResult } from '../helpers/berth-cli.js';

/** Copies an image (or, with --all --preserve-digests, an index) from a fresh OCI layout to `dest` (docker://HOST/REPO:TAG). */
export async function pushWithSkopeo(workDir: string, name: string, what: { image?: LayoutImage; index?: LayoutIndex }, dest: string, creds?: string): Promise<void> {
  const layout = join(workDir, `layout-${name}`);
  const descriptor = what.index?.descriptor ?? what.image!.descriptor;
  await writeLayout(layout, [{ tag: 'v1', descriptor }], what.index ? indexBlobs(what.index) : imageBlobs(what.image!));
  const flags = what.index ? ['--all', '--preserve-digests'] : [];
  const auth = creds ? ['--dest-creds', creds] : [];
  // --insecure-policy: the test must not depend on the host's /etc/containers/policy.json.
  const r = await runCommand(SKOPEO!, ['--insecure-policy', 'copy', '--dest-tls-verify=false', ...flags, ...auth, `oci:${layout}:v1`, `docker://${dest}`], 60_000);
  assert.equal(r.code, 0, r.describe());
}

const ACCEPT = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json'].join(', ');

export interface Fetched {
  status: number;
  bytes: Buffer;
  json: unknown;
}

/** GET a registry path (optionally with an Authorization header); never throws on a status. */
export async function get(base: string, path: string, auth?: string): Promise<Fetched> {
  const r = await fetch(`${base}${path}`, { headers: { Accept: ACCEPT, ...(auth ? { Authorization: auth } : {}) } });
  const bytes = Buffer.from(await r.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: r.status, bytes, json };
}

/** PUT manifest bytes (an attacker re-pointing things); answers the status. */
export async function putManifest(base: string, repo: string, ref: string, bytes: Buffer, mediaType = 'application/vnd.oci.image.manifest.v1+json', auth?: string): Promise<number> {
  const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': mediaType, ...(auth ? { Authorization: auth } : {}) }, body: new Uint8Array(bytes) });
  await r.body?.cancel();
  return r.status;
}

/** Monolithic blob upload (POST ?digest=); asserts 201. */
export async function pushBlob(base: string, repo: string, bytes: Buffer, auth?: string): Promise<string> {
  const digest = sha256(bytes);
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', ...(auth ? { Authorization: auth } : {}) },
    body: new Uint8Array(bytes),
  });
  await r.body?.cancel();
  assert.equal(r.status, 201, `push blob ${digest} to ${repo}`);
  return digest;
}

export interface ManifestDoc {
  mediaType?: string;
  artifactType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  subject?: { digest: string; mediaType: string; size: number };
  annotations?: Record<string, string>;
}

export const sha256 = (b: Uint8Array | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** DSSE v1 pre-authentication encoding, written from the DSSE protocol spec. */
export function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

/** ECDSA P-256 / SHA-256 over `message` with an ASN.1 DER signature, as cosign signs. */
export function ecdsaVerifies(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  return cryptoVerify('sha256', message, key, signature);
}
