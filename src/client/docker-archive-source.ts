/**
 * `docker save` tarballs as image sources, read in place (never extracted):
 *
 * - Docker 25 and later (moby#44598) put an OCI image layout in the archive (`oci-layout`,
 *   `index.json`, `blobs/sha256/...`) next to the legacy `manifest.json`: the layout is read as
 *   it is, with its real manifest digests. Docker 25.0.0 wrote the layers of that OCI manifest in
 *   the wrong order (moby#47150, fixed in 25.0.1); when `manifest.json` lists the same config with
 *   other layers, `manifest.json` wins.
 * - Older docker, podman and skopeo write only `manifest.json` (`[{Config, RepoTags, Layers}]`,
 *   paths into the archive): an OCI manifest is made up for the image, the config's and every
 *   layer's digest computed from the bytes (never taken from file names), each layer typed as a
 *   tar, or gzip/zstd when its first bytes say so.
 *
 * Random access: one pass of tar-stream over the archive records where each regular file's data
 * starts (`offset` of its header + 512) and its size, and symbolic and hard links (docker's
 * legacy layer paths may be links into `blobs/`). Blobs are then streamed from their offsets.
 * Memory stays at one small record per entry (at most 100,000 entries), however big the layers.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-type.js';
import { parseImageReference } from '../oci/reference.js';
import {
  ImageSourceError,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  canonicalName,
  checkManifest,
  parseDigest,
  selectImage,
  verifiedStream,
  type ImageSource,
} from './image-content.js';
import { blobPath, layoutSource, readLayoutIndex, type LayoutFiles } from './oci-layout-source.js';

const MAX_ENTRIES = 100_000;
const MAX_LINK_HOPS = 16;
const READ_CHUNK = 256 * 1024;
/** manifest.json: images per archive and layers per image (docker itself stops at 127 layers). */
const MAX_IMAGES = 1000;
const MAX_LAYERS = 1000;

type TarRecord = { kind: 'file'; offset: number; size: number } | { kind: 'symlink' | 'hardlink'; target: string };
type FileRecord = Extract<TarRecord, { kind: 'file' }>;

/**
 * Opens `file` (a docker save tarball) and selects the image named `wanted` (`name[:tag]`, as in
 * RepoTags or io.containerd.image.name), or the only image. Throws ImageSourceError for anything
 * that is not a readable archive of that image.
 */
export async function openDockerArchive(name: string, file: string, wanted: string | undefined): Promise<ImageSource> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new ImageSourceError(name, `cannot open ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const archive = new Archive(name, handle, await indexTar(name, handle));
    const matches = (candidate: string) => sameImage(candidate, wanted);
    const legacy = archive.resolve('manifest.json') ? await readManifestJson(archive) : undefined;
    if (archive.resolve('index.json') && archive.resolve('oci-layout')) {
      const chosen = selectImage(name, await readLayoutIndex(name, archive), wanted, matches);
      const source = layoutSource(name, archive, chosen.descriptor);
      const misordered = legacy && (await disagreeingLegacyItem(name, await source.root(), legacy));
      return misordered ? await legacySource(archive, misordered) : source;
    }
    if (!legacy) throw new ImageSourceError(name, 'has neither manifest.json nor an OCI layout: not a docker save archive');
    return await legacySource(archive, selectImage(name, legacy, wanted, matches));
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Do two references name the same image (Docker Hub aliases and `library/` normalised, tag `latest` by default)? */
function sameImage(candidate: string, wanted: string | undefined): boolean {
  if (wanted === undefined) return false;
  const key = (s: string) => {
    try {
      const r = parseImageReference(s);
      const c = canonicalName(r.registry, r.name);
      return `${c.registry}/${c.name}:${r.tag ?? 'latest'}`;
    } catch {
      return undefined;
    }
  };
  const k = key(candidate);
  return k !== undefined && k === key(wanted);
}

// --- the tar ---------------------------------------------------------------------

/** One pass over the archive: where every regular file's data is, and every link. */
async function indexTar(name: string, handle: FileHandle): Promise<Map<string, TarRecord>> {
  const head = Buffer.alloc(4);
  await handle.read(head, 0, 4, 0);
  if (head[0] === 0x1f && head[1] === 0x8b) throw new ImageSourceError(name, 'is gzip-compressed; decompress it first (gunzip)');
  if (head.readUInt32BE(0) === 0x28b52ffd) throw new ImageSourceError(name, 'is zstd-compressed; decompress it first (unzstd)');
  const records = new Map<string, TarRecord>();
  const tar = extract();
  const input = handle.createReadStream({ start: 0, autoClose: false });
  const piped = pipeline(input, tar);
  piped.catch(() => undefined); // the entry loop reports the same failure
  try {
    let count = 0;
    for await (const entry of tar) {
      entry.resume();
      if (++count > MAX_ENTRIES) throw new ImageSourceError(name, `has more than ${MAX_ENTRIES} entries`);
      const { header } = entry;
      const path = normalize(header.name);
      let record: TarRecord | undefined;
      if (header.type === 'file' || header.type === 'contiguous-file') record = { kind: 'file', offset: entry.offset + 512, size: header.size };
      else if (header.type === 'symlink') record = { kind: 'symlink', target: header.linkname };
      else if (header.type === 'link') record = { kind: 'hardlink', target: header.linkname };
      if (!record || path === undefined) continue;
      if (records.has(path)) throw new ImageSourceError(name, `has two entries named ${path}`);
      records.set(path, record);
    }
    await piped;
  } catch (e) {
    input.destroy();
    tar.destroy();
    if (e instanceof ImageSourceError) throw e;
    throw new ImageSourceError(name, `is not a readable tar archive: ${(e as Error).message}`, { cause: e });
  }
  return records;
}

/** A slash-separated path with `.` and `..` resolved lexically; undefined when it climbs above the root. */
function normalize(path: string): string | undefined {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

/** The archive's files, read in place by offset. */
class Archive implements LayoutFiles {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly records: Map<string, TarRecord>,
  ) {}

  /** The regular file at `path`, following links inside the archive; undefined when there is none. */
  resolve(path: string): FileRecord | undefined {
    let at = normalize(path);
    for (let hop = 0; at !== undefined; hop++) {
      if (hop > MAX_LINK_HOPS) throw new ImageSourceError(this.name, `${path} goes through more than ${MAX_LINK_HOPS} links`);
      const r: TarRecord | undefined = this.records.get(at);
      if (!r || r.kind === 'file') return r;
      // A symlink's target is relative to its directory; a hard link names a path from the root.
      at = r.kind === 'hardlink' || r.target.startsWith('/') ? normalize(r.target) : normalize(`${at.split('/').slice(0, -1).join('/')}/${r.target}`);
    }
    return undefined;
  }

  async read(path: string, max: number): Promise<Buffer | undefined> {
    const r = this.resolve(path);
    return r && this.readRecord(r, max, path);
  }

  async readRecord(r: FileRecord, max: number, what: string): Promise<Buffer> {
    if (r.size > max) throw new ImageSourceError(this.name, `${what} is ${r.size} bytes; the limit is ${max}`);
    const bytes = Buffer.alloc(r.size);
    const { bytesRead } = await this.handle.read(bytes, 0, r.size, r.offset);
    if (bytesRead !== r.size) throw new ImageSourceError(this.name, `${what} is cut short (the archive changed or is truncated)`);
    return bytes;
  }

  async open(path: string): Promise<{ body: Readable; size: number } | undefined> {
    const r = this.resolve(path);
    return r && { body: this.stream(r), size: r.size };
  }

  /** The entry's bytes by positional reads on the shared handle (destroying the stream leaves the handle open). */
  stream(r: FileRecord): Readable {
    const handle = this.handle;
    const end = r.offset + r.size;
    async function* chunks() {
      for (let at = r.offset; at < end; ) {
        const want = Math.min(READ_CHUNK, end - at);
        const { bytesRead, buffer } = await handle.read(Buffer.alloc(want), 0, want, at);
        if (bytesRead === 0) throw new Error('the archive ends before the entry does');
        at += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

// --- manifest.json ---------------------------------------------------------------------

interface LegacyItem {
  names: string[];
  config: string;
  layers: string[];
}

/** manifest.json, checked: an array of {Config, RepoTags, Layers} with paths that stay inside the archive. */
async function readManifestJson(archive: Archive): Promise<LegacyItem[]> {
  const name = archive.name;
  const bytes = (await archive.read('manifest.json', MAX_MANIFEST_BYTES))!;
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImageSourceError(name, `manifest.json is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(doc) || doc.length === 0 || doc.length > MAX_IMAGES) {
    throw new ImageSourceError(name, `manifest.json must be a list of 1 to ${MAX_IMAGES} images`);
  }
  return doc.map((item: unknown, i): LegacyItem => {
    const where = `manifest.json[${i}]`;
    const o = (item ?? {}) as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    const tags = o.RepoTags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new ImageSourceError(name, `${where}.RepoTags must be a list of strings`);
    if (!Array.isArray(o.Layers) || o.Layers.length > MAX_LAYERS) throw new ImageSourceError(name, `${where}.Layers must be a list of at most ${MAX_LAYERS} paths`);
    return {
      names: tags as string[],
      config: insidePath(name, o.Config, `${where}.Config`),
      layers: o.Layers.map((l: unknown, j) => insidePath(name, l, `${where}.Layers[${j}]`)),
    };
  });
}

/** A path manifest.json gives: relative, without `..`, so it can only name an entry of this archive. */
function insidePath(name: string, v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw new ImageSourceError(name, `${where} must be a path`);
  if (v.startsWith('/') || v.split('/').includes('..')) throw new ImageSourceError(name, `${where} (${JSON.stringify(v.slice(0, 200))}) leaves the archive`);
  return v;
}

/**
 * The manifest.json item with the same config as the OCI manifest `root` but other layers (docker
 * 25.0.0's misordered OCI manifests), or undefined when they agree or nothing matches.
 */
async function disagreeingLegacyItem(name: string, root: { bytes: Buffer; mediaType: string }, legacy: LegacyItem[]): Promise<LegacyItem | undefined> {
  const m = parseManifest(root.bytes, root.mediaType);
  if (m.kind !== 'manifest' || !m.config) return undefined;
  const configPath = blobPath(name, m.config.digest);
  const item = legacy.find((l) => normalize(l.config) === configPath);
  const layers = m.layers.map((l) => blobPath(name, l.digest)).join('\n');
  return item && item.layers.map((l) => normalize(l)).join('\n') !== layers ? item : undefined;
}

/** An image source for a manifest.json item: an OCI manifest made up from the computed digests. */
async function legacySource(archive: Archive, item: LegacyItem): Promise<ImageSource> {
  const name = archive.name;
  const entry = (path: string, what: string) => {
    const r = archive.resolve(path);
    if (!r) throw new ImageSourceError(name, `manifest.json names ${what} ${path}, which is not in the archive`);
    return r;
  };
  const blobs = new Map<string, FileRecord>();
  const configRecord = entry(item.config, 'the config');
  const config = await archive.readRecord(configRecord, MAX_CONFIG_BYTES, `config ${item.config}`);
  if (!isJsonObject(config)) throw new ImageSourceError(name, `config ${item.config} is not a JSON object`);
  const configDigest = Digest.fromBytes(config).toString();
  blobs.set(configDigest, configRecord);
  const layers = [];
  for (const path of item.layers) {
    const r = entry(path, 'the layer');
    const { digest, head } = await hashRecord(archive, r);
    blobs.set(digest, r);
    layers.push({ mediaType: layerType(head), digest, size: r.size });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
    layers,
  };
  const root = checkManifest(name, 'the manifest made from manifest.json', Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest);
  return {
    name,
    root: async () => root,
    async manifest(digest) {
      if (digest !== root.digest) throw new ImageSourceError(name, `holds one image manifest (${root.digest}), not ${digest}`);
      return root;
    },
    async blob(digest, size) {
      const d = parseDigest(name, digest);
      const r = blobs.get(d.toString());
      if (!r) throw new ImageSourceError(name, `blob ${digest} is not part of the image`);
      if (size !== undefined && size !== r.size) throw new ImageSourceError(name, `blob ${digest} is ${r.size} bytes, not ${size}`);
      return verifiedStream(name, archive.stream(r), d, r.size, `blob ${digest}`);
    },
    close: () => archive.close(),
  };
}

/** The sha256 of an entry's bytes and its first four bytes (for the compression). */
async function hashRecord(archive: Archive, r: FileRecord): Promise<{ digest: string; head: Buffer }> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let kept = 0;
  for await (const chunk of archive.stream(r)) {
    const b = chunk as Buffer;
    if (kept < 4) {
      const take = b.subarray(0, 4 - kept);
      head.push(take);
      kept += take.length;
    }
    hash.update(b);
  }
  return { digest: `sha256:${hash.digest('hex')}`, head: Buffer.concat(head) };
}

/** A layer's media type from its first bytes: gzip (1f 8b), zstd (28 b5 2f fd), else a plain tar. */
function layerType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MediaType.OciLayerGzip;
  if (head.length === 4 && head.readUInt32BE(0) === 0x28b52ffd) return MediaType.OciLayerZstd;
  return MediaType.OciLayerTar;
}

function isJsonObject(bytes: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}
