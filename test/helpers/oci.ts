import { createHash } from 'node:crypto';

/** Independent digest computation for tests (node:crypto, not berth's code). */
export function sha256(bytes: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export function blob(content: Uint8Array | string): Blob {
  const bytes = Buffer.from(content);
  return { bytes, digest: sha256(bytes), size: bytes.length };
}

/** Pseudo-random bytes (deterministic from seed) for layers. */
export function randomBlob(size: number, seed = 1): Blob {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return blob(b);
}

/** Monolithic blob push: POST ?digest= . Returns the response. */
export async function pushBlob(base: string, repo: string, b: Blob): Promise<Response> {
  return fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(b.size) },
    body: new Uint8Array(b.bytes),
  });
}

export async function putManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: Buffer | object,
  mediaType = 'application/vnd.oci.image.manifest.v1+json',
): Promise<Response> {
  const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
  return fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body: new Uint8Array(body),
  });
}

export interface Image {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
  mediaType: string;
}

/** Builds an OCI image manifest (config + layers) from bytes; nothing is pushed. */
export function makeImage(opts: { layers?: Blob[]; seed?: number; platform?: { os: string; architecture: string }; subject?: { mediaType: string; digest: string; size: number }; artifactType?: string; annotations?: Record<string, string> } = {}): Image {
  const seed = opts.seed ?? 1;
  const layers = opts.layers ?? [randomBlob(1024 + seed, seed)];
  const config = blob(
    JSON.stringify({
      architecture: opts.platform?.architecture ?? 'amd64',
      os: opts.platform?.os ?? 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
  };
  if (opts.artifactType) m.artifactType = opts.artifactType;
  if (opts.subject) m.subject = opts.subject;
  if (opts.annotations) m.annotations = opts.annotations;
  return { config, layers, manifest: blob(JSON.stringify(m)), mediaType: 'application/vnd.oci.image.manifest.v1+json' };
}

/** Pushes config, layers and the manifest under `reference`; throws on any non-201. */
export async function pushImage(base: string, repo: string, reference: string, img: Image): Promise<void> {
  for (const b of [img.config, ...img.layers]) {
    const r = await pushBlob(base, repo, b);
    if (r.status !== 201) throw new Error(`blob push ${b.digest}: ${r.status} ${await r.text()}`);
  }
  const r = await putManifest(base, repo, reference, img.manifest.bytes, img.mediaType);
  if (r.status !== 201) throw new Error(`manifest push: ${r.status} ${await r.text()}`);
}
