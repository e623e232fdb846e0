/*
 * OCI image layouts (image-spec image-layout.md) of large images, for the scan
 * benchmark and the debootstrap test: layer blobs are files written elsewhere
 * (by tar-stream or GNU tar) and moved in under their digest, never held in
 * memory whole. Digests and diff_ids are computed here with node:crypto and
 * node:zlib, independently of berth.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { openImageSource } from '../src/client/image-source.js';
import type { ImageToScan } from '../src/scan/scanner.js';

export const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MT_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REF_NAME = 'org.opencontainers.image.ref.name';

/** A gzipped layer moved into a layout. */
export interface LayoutLayer {
  digest: string;
  size: number;
  /** sha256 of the tar inside (config rootfs.diff_ids). */
  diffId: string;
  /** Bytes of that tar. */
  tarSize: number;
  /** The blob's path in the layout. */
  path: string;
}

/** A stream sink that hashes and counts what it is given. */
function hashSink(): { sink: Writable; result: () => { digest: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done();
    },
  });
  return { sink, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

/** Path of `digest` under the layout at `dir`. */
export function layoutBlobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/**
 * Moves the gzipped tar at `file` into the layout at `dir` under its digest,
 * computing the digest and the diff_id by reading it back. Throws what the
 * file system or gunzip throws (a file that is not gzip).
 */
export async function addGzipLayer(dir: string, file: string): Promise<LayoutLayer> {
  const compressed = hashSink();
  const tar = hashSink();
  await pipeline(createReadStream(file), compressed.sink);
  await pipeline(createReadStream(file), createGunzip(), tar.sink);
  const { digest, size } = compressed.result();
  const path = layoutBlobPath(dir, digest);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await rename(file, path);
  if ((await stat(path)).size !== size) throw new Error(`${file} changed while it was moved into the layout`);
  const inner = tar.result();
  return { digest, size, diffId: inner.digest, tarSize: inner.size, path };
}

/**
 * Writes the config and manifest of a linux/amd64 image over `layers` (in
 * order, lowest first), plus `oci-layout` and an index.json naming it `tag`.
 * Returns the manifest's digest.
 */
export async function writeLayoutImage(dir: string, layers: LayoutLayer[], tag: string): Promise<string> {
  const put = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(layoutBlobPath(dir, digest), bytes);
    return { digest, size: bytes.length };
  };
  const config = await put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      }),
    ),
  );
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT_MANIFEST,
        config: { mediaType: MT_CONFIG, ...config },
        layers: layers.map((l) => ({ mediaType: MT_LAYER_GZIP, digest: l.digest, size: l.size })),
      }),
    ),
  );
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = { schemaVersion: 2, manifests: [{ mediaType: MT_MANIFEST, ...manifest, annotations: { [REF_NAME]: tag } }] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return manifest.digest;
}

/**
 * The image tagged `tag` in the layout at `dir`, read the way `berth scan
 * oci:DIR:TAG` reads it (blobs digest-verified as they stream). Throws
 * ImageSourceError for a missing or malformed layout or tag.
 */
export async function openLayoutImage(dir: string, tag: string): Promise<{ image: ImageToScan; close: () => Promise<void> }> {
  const source = await openImageSource(`oci:${dir}:${tag}`);
  const root = await source.root();
  const image: ImageToScan = {
    name: source.name,
    digest: root.digest,
    manifest: root.bytes,
    mediaType: root.mediaType,
    openBlob: (d) => source.blob(d.digest, d.size),
  };
  return { image, close: () => source.close() };
}
