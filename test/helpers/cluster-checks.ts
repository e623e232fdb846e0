import assert from 'node:assert/strict';
import { sha256, type Blob } from './oci.js';
import { ACCEPT_ALL_MANIFESTS } from './e2e-http.js';
import { MT_MANIFEST, type LayoutImage } from './oci-layout.js';
import type { ClusterNode } from './cluster.js';
import { header, httpRequest, type ImageToPush, type UploadResult } from './round-robin-client.js';

/**
 * Bookkeeping and checks for the scale-out suite: a Ledger of what the test
 * pushed (the expected rows and objects), and assertions that one node
 * serves a manifest, blob or image with the bytes the test made.
 */

/** What the test pushed and the registry accepted: the expected state of database and storage. */
export class Ledger {
  /** Every blob, manifests included (a manifest's bytes are a blob too): digest -> size. */
  readonly blobs = new Map<string, number>();
  /** Blob links per repository (config and layer blobs; manifests are not linked). */
  readonly repoBlobs = new Map<string, Set<string>>();
  readonly manifests = new Map<string, Map<string, number>>();
  readonly tags = new Map<string, Map<string, string>>();
  /** Upload sessions the client completed. */
  readonly uploadIds = new Set<string>();

  blob(repo: string, b: { digest: string; size: number }): void {
    this.blobs.set(b.digest, b.size);
    getOr(this.repoBlobs, repo, () => new Set()).add(b.digest);
  }

  manifest(repo: string, m: Blob, tag?: string): void {
    this.blobs.set(m.digest, m.size);
    getOr(this.manifests, repo, () => new Map()).set(m.digest, m.size);
    if (tag !== undefined) getOr(this.tags, repo, () => new Map()).set(tag, m.digest);
  }

  image(repo: string, tag: string | undefined, img: ImageToPush): void {
    for (const b of [img.config, ...img.layers]) this.blob(repo, b);
    this.manifest(repo, img.manifest, tag);
  }

  uploads(results: UploadResult[]): void {
    for (const u of results) if (u.uploadId) this.uploadIds.add(u.uploadId);
  }

  repositories(): string[] {
    return [...new Set([...this.repoBlobs.keys(), ...this.manifests.keys()])].sort();
  }
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

export function layoutToPush(img: LayoutImage): ImageToPush {
  return { config: img.config, layers: img.layers.map((l) => l.blob), manifest: img.manifest, mediaType: MT_MANIFEST };
}

// --- pulling and checking from one node -------------------------------------------

export async function assertManifestOn(node: ClusterNode, repo: string, reference: string, m: Blob, mediaType: string): Promise<void> {
  const r = await httpRequest(`${node.url}/v2/${repo}/manifests/${reference}`, {
    method: 'GET',
    headers: { Accept: ACCEPT_ALL_MANIFESTS },
  });
  const what = `${node.name}: GET ${repo}:${reference}`;
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.body.toString()}`);
  assert.equal(sha256(r.body), m.digest, `${what}: served bytes hash to ${sha256(r.body)}`);
  assert.equal(header(r, 'docker-content-digest'), m.digest, `${what}: Docker-Content-Digest`);
  assert.equal(header(r, 'content-type'), mediaType, `${what}: Content-Type`);
}

export async function assertBlobOn(node: ClusterNode, repo: string, b: { digest: string; size: number }): Promise<void> {
  const r = await httpRequest(`${node.url}/v2/${repo}/blobs/${b.digest}`, { method: 'GET' });
  const what = `${node.name}: GET ${repo}@${b.digest}`;
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  assert.equal(r.body.length, b.size, `${what}: ${r.body.length} bytes, pushed ${b.size}`);
  assert.equal(sha256(r.body), b.digest, `${what}: served bytes hash to ${sha256(r.body)}`);
}

/** The image by tag (when given) and by digest, and each of its blobs, from `node`. */
export async function assertImageOn(node: ClusterNode, repo: string, tag: string | undefined, img: ImageToPush): Promise<void> {
  if (tag !== undefined) await assertManifestOn(node, repo, tag, img.manifest, img.mediaType);
  await assertManifestOn(node, repo, img.manifest.digest, img.manifest, img.mediaType);
  for (const b of [img.config, ...img.layers]) await assertBlobOn(node, repo, b);
}

export async function tagsOn(node: ClusterNode, repo: string): Promise<string[]> {
  const r = await httpRequest(`${node.url}/v2/${repo}/tags/list`, { method: 'GET' });
  assert.equal(r.status, 200, `${node.name}: tags/list ${repo}: ${r.status} ${r.body.toString()}`);
  return (JSON.parse(r.body.toString()) as { tags: string[] | null }).tags ?? [];
}

