/**
 * Helpers for the signing process tests: the compiled CLI run as a child process (bounded, with a
 * temporary DOCKER_CONFIG and none of the developer's BERTH_* or COSIGN_* settings), images pushed
 * with skopeo from OCI layouts built by test/helpers/oci-layout.ts, and registry reads over HTTP.
 * Signatures are checked here independently of berth's code: DSSE's pre-authentication encoding
 * and the ECDSA verification come from node:crypto and the DSSE spec, not from src/sign.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { BERTH_BIN } from '../helpers/server.js';
import { onPath, runCommand } from '../helpers/e2e-process.js';
import { imageBlobs, indexBlobs, writeLayout, type LayoutImage, type LayoutIndex } from '../helpers/oci-layout.js';

export const SKOPEO = onPath('skopeo');
export const skipWithoutSkopeo = SKOPEO === undefined ? 'skopeo is not on PATH (Debian/Ubuntu: apt-get install skopeo)' : false;

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `berth ARGS` (60 s at most) with DOCKER_CONFIG=`dockerConfig` and the extra environment
 * given. Asynchronous on purpose: a blocked event loop would keep undici from seeing the server
 * close idle keep-alive connections, and the test's next POST would fail on a dead socket.
 */
export function berth(args: string[], opts: { dockerConfig: string; env?: Record<string, string>; input?: string; cwd?: string }): Promise<CliResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_') && !k.startsWith('COSIGN_') && k !== 'DOCKER_CONFIG'));
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BERTH_BIN, ...args],
      { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', cwd: opts.cwd, env: { ...inherited, DOCKER_CONFIG: opts.dockerConfig, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        resolve({ code, out: stdout, err: stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Asserts exit code 0 (showing stderr otherwise) and that nothing looks like a stack trace. */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  noStack(r);
  return r;
}

/** Asserts exit code 1 with `pattern` on stderr, nothing on stdout, and no stack trace. */
export function fails(r: CliResult, pattern: RegExp, what: string): CliResult {
  assert.equal(r.code, 1, `${what}: expected exit 1, got ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  assert.match(r.err, pattern, what);
  noStack(r);
  return r;
}

function noStack(r: CliResult): void {
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace on stderr:\n${r.err}`);
}

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
