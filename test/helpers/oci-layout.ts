import { gzipSync } from 'node:zlib';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blob, randomBlob, sha256, type Blob } from './oci.js';

/**
 * OCI image layouts on disk (image-spec "image-layout.md"), built from bytes
 * the test makes: `oci-layout`, `index.json` and `blobs/sha256/<hex>`. Every
 * digest is computed here with node:crypto, independently of berth.
 */

export const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MT_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MT_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** Annotation that names a manifest in a layout's index.json (what `oci:<dir>:<tag>` selects). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

// --- a minimal ustar writer ------------------------------------------------------

export interface TarEntry {
  /** Path inside the archive, at most 100 bytes (no prefix field use). */
  name: string;
  /** File content; a directory when omitted. */
  content?: string | Buffer;
  mode?: number;
}

function octal(n: number, width: number): string {
  // width includes the terminating NUL
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader(name: string, size: number, mode: number, dir: boolean): Buffer {
  const h = Buffer.alloc(512, 0);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`tar entry name too long: ${name}`);
  nameBytes.copy(h, 0);
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(1700000000, 12), 136, 'ascii'); // fixed mtime: reproducible bytes
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write(dir ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** A POSIX ustar archive of the entries, ending with the two zero blocks. */
export function ustar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.content === undefined) {
      const name = e.name.endsWith('/') ? e.name : e.name + '/';
      parts.push(tarHeader(name, 0, e.mode ?? 0o755, true));
      continue;
    }
    const data = Buffer.from(e.content);
    parts.push(tarHeader(e.name, data.length, e.mode ?? 0o644, false), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

// --- images and indexes --------------------------------------------------------

export interface LayoutLayer {
  blob: Blob;
  mediaType: string;
  /** sha256 of the uncompressed tar (image-spec config rootfs.diff_ids). */
  diffId: string;
}

export interface LayoutImage {
  config: Blob;
  layers: LayoutLayer[];
  manifest: Blob;
  platform: { os: string; architecture: string };
  descriptor: Descriptor;
}

export interface LayoutIndex {
  index: Blob;
  images: LayoutImage[];
  descriptor: Descriptor;
}

/** A tar layer with a few small files (and one bigger pseudo-random one), gzipped when asked. */
export function makeLayer(seed: number, gzip: boolean, files = 3): LayoutLayer {
  const entries: TarEntry[] = [{ name: `layer-${seed}` }];
  for (let i = 0; i < files; i++) {
    entries.push({ name: `layer-${seed}/file-${i}.txt`, content: `seed ${seed} file ${i}\n`.repeat(i + 1) });
  }
  entries.push({ name: `layer-${seed}/data.bin`, content: randomBlob(3000 + seed * 17, seed).bytes });
  return filesLayer(entries, gzip);
}

/** A tar layer of exactly these entries, gzipped when asked. */
export function filesLayer(entries: TarEntry[], gzip = true): LayoutLayer {
  const tar = ustar(entries);
  const diffId = sha256(tar);
  if (!gzip) return { blob: blob(tar), mediaType: MT_LAYER_TAR, diffId };
  return { blob: blob(gzipSync(tar)), mediaType: MT_LAYER_GZIP, diffId };
}

/** A single-platform OCI image: config (rootfs.diff_ids from the tars) + layers + manifest. */
export function makeLayoutImage(opts: {
  seed: number;
  platform?: { os: string; architecture: string };
  /** One flag per layer: gzip it or keep it a plain tar. Default: two gzipped layers. */
  gzip?: boolean[];
  /** The layers to use instead of generated ones. */
  layers?: LayoutLayer[];
}): LayoutImage {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = opts.layers ?? (opts.gzip ?? [true, true]).map((gz, i) => makeLayer(opts.seed * 10 + i, gz));
  const config = blob(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { seed: String(opts.seed) } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `step ${i}` })),
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT_MANIFEST,
      config: { mediaType: MT_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob.digest, size: l.blob.size })),
      annotations: { 'org.opencontainers.image.title': `berth-e2e-${opts.seed}` },
    }),
  );
  return {
    config,
    layers,
    manifest,
    platform,
    descriptor: { mediaType: MT_MANIFEST, digest: manifest.digest, size: manifest.size },
  };
}

/** An OCI image index over one image per platform. */
export function makeLayoutIndex(images: LayoutImage[]): LayoutIndex {
  const index = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT_INDEX,
      manifests: images.map((img) => ({ ...img.descriptor, platform: img.platform })),
    }),
  );
  return { index, images, descriptor: { mediaType: MT_INDEX, digest: index.digest, size: index.size } };
}

/** The default multi-platform index: linux/amd64 (gzipped layers) and linux/arm64 (one plain tar, one gzipped). */
export function makeMultiPlatformIndex(seed: number): LayoutIndex {
  return makeLayoutIndex([
    makeLayoutImage({ seed, platform: { os: 'linux', architecture: 'amd64' }, gzip: [true, true] }),
    makeLayoutImage({ seed: seed + 1, platform: { os: 'linux', architecture: 'arm64' }, gzip: [false, true] }),
  ]);
}

/** Every blob an image refers to, including its manifest. */
export function imageBlobs(img: LayoutImage): Blob[] {
  return [img.manifest, img.config, ...img.layers.map((l) => l.blob)];
}

export function indexBlobs(idx: LayoutIndex): Blob[] {
  return [idx.index, ...idx.images.flatMap(imageBlobs)];
}

// --- on disk -------------------------------------------------------------------

export interface LayoutRef {
  tag: string;
  descriptor: Descriptor;
}

/** Writes an OCI image layout holding `blobs`, with `refs` named in index.json. */
export async function writeLayout(dir: string, refs: LayoutRef[], blobs: Blob[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of blobs) {
    await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.bytes);
  }
  const index = {
    schemaVersion: 2,
    manifests: refs.map((r) => ({ ...r.descriptor, annotations: { ...r.descriptor.annotations, [REF_NAME]: r.tag } })),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

export interface ReadLayout {
  /** The parsed index.json. */
  index: { schemaVersion: number; manifests: Descriptor[] };
  /** Blob bytes by digest ("sha256:<hex>"). */
  blobs: Map<string, Buffer>;
}

/** Reads a layout back: index.json and every blob under blobs/sha256. */
export async function readLayout(dir: string): Promise<ReadLayout> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ReadLayout['index'];
  const blobs = new Map<string, Buffer>();
  const names = await readdir(join(dir, 'blobs', 'sha256'));
  for (const n of names) blobs.set(`sha256:${n}`, await readFile(join(dir, 'blobs', 'sha256', n)));
  return { index, blobs };
}

/** The descriptor index.json names `tag`, or undefined. */
export function findRef(layout: ReadLayout, tag: string): Descriptor | undefined {
  return layout.index.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
}
