/**
 * An OCI image layout (image-spec image-layout.md) as an image source: an `oci-layout` file,
 * `index.json` naming manifests (a tag is the `org.opencontainers.image.ref.name` annotation),
 * and content under `blobs/<alg>/<encoded>`. The files come from a directory or, for docker save
 * archives of docker 25 and later, from a tar (see docker-archive-source.ts).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-type.js';
import {
  ImageSourceError,
  MAX_MANIFEST_BYTES,
  checkManifest,
  parseDigest,
  verifiedStream,
  type ImageSource,
  type ManifestBytes,
} from './image-content.js';

/** Annotation that names a manifest in index.json (image-spec annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** Read access to the files of a layout, by slash-separated path relative to its root. */
export interface LayoutFiles {
  /** The file's bytes, undefined when there is no such file; throws ImageSourceError when it is larger than `max`. */
  read(path: string, max: number): Promise<Buffer | undefined>;
  /** The file as a stream with its size, undefined when there is no such file. */
  open(path: string): Promise<{ body: Readable; size: number } | undefined>;
  close(): Promise<void>;
}

export interface LayoutEntry {
  descriptor: Descriptor;
  /** What index.json calls it (ref.name and, in docker's archives, io.containerd.image.name). */
  names: string[];
}

/**
 * The manifests index.json lists, each with its names. Throws ImageSourceError when `oci-layout`
 * or `index.json` is missing or malformed.
 */
export async function readLayoutIndex(source: string, files: LayoutFiles): Promise<LayoutEntry[]> {
  const marker = await files.read('oci-layout', 64 * 1024);
  if (!marker) throw new ImageSourceError(source, 'not an OCI image layout: there is no oci-layout file');
  const version = parseJson(marker)?.imageLayoutVersion;
  if (typeof version !== 'string') throw new ImageSourceError(source, 'oci-layout is not {"imageLayoutVersion": "..."}');
  const bytes = await files.read('index.json', MAX_MANIFEST_BYTES);
  if (!bytes) throw new ImageSourceError(source, 'not an OCI image layout: there is no index.json');
  let manifests: Descriptor[];
  try {
    const index = parseManifest(bytes, MediaType.OciIndex);
    if (index.kind !== 'index') throw new Error('it is not an image index');
    manifests = index.manifests;
  } catch (e) {
    throw new ImageSourceError(source, `index.json: ${(e as Error).message}`, { cause: e });
  }
  return manifests.map((descriptor) => ({
    descriptor,
    names: [descriptor.annotations?.['io.containerd.image.name'], descriptor.annotations?.[REF_NAME]].filter((n): n is string => n !== undefined),
  }));
}

/** The path of a blob in a layout (`digest` is checked: only sha256/sha512 hex reaches the path). */
export function blobPath(source: string, digest: string): string {
  const d = parseDigest(source, digest);
  return `blobs/${d.algorithm}/${d.hex}`;
}

/** An image source over the layout's content, rooted at `root` (a descriptor from index.json). */
export function layoutSource(name: string, files: LayoutFiles, root: Descriptor): ImageSource {
  const readManifest = async (descriptor: { digest: string; mediaType?: string; size?: number }): Promise<ManifestBytes> => {
    const bytes = await files.read(blobPath(name, descriptor.digest), MAX_MANIFEST_BYTES);
    if (!bytes) throw new ImageSourceError(name, `manifest ${descriptor.digest} is not in the layout`);
    return checkManifest(name, `manifest ${descriptor.digest}`, bytes, descriptor.mediaType, descriptor);
  };
  return {
    name,
    root: () => readManifest(root),
    manifest: (digest) => readManifest({ digest }),
    async blob(digest, size) {
      const d = parseDigest(name, digest);
      const file = await files.open(blobPath(name, digest));
      if (!file) throw new ImageSourceError(name, `blob ${digest} is not in the layout`);
      if (size !== undefined && file.size !== size) {
        file.body.destroy();
        throw new ImageSourceError(name, `blob ${digest} is ${file.size} bytes, not ${size}`);
      }
      return verifiedStream(name, file.body, d, file.size, `blob ${digest}`);
    },
    close: () => files.close(),
  };
}

/** The files of a layout directory. */
export function directoryFiles(source: string, dir: string): LayoutFiles {
  const openFile = async (path: string) => {
    try {
      const handle = await open(join(dir, ...path.split('/')), 'r');
      const stat = await handle.stat().catch(async (e: unknown) => {
        await handle.close();
        throw e;
      });
      if (!stat.isFile()) {
        await handle.close();
        throw new ImageSourceError(source, `${path} is not a regular file`);
      }
      return { handle, size: stat.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof ImageSourceError) throw e;
      throw new ImageSourceError(source, `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
  return {
    async read(path, max) {
      const f = await openFile(path);
      if (!f) return undefined;
      try {
        const bytes = f.size > max ? undefined : await f.handle.readFile();
        if (!bytes || bytes.length > max) throw new ImageSourceError(source, `${path} is larger than the limit of ${max} bytes`);
        return bytes;
      } finally {
        await f.handle.close();
      }
    },
    async open(path) {
      const f = await openFile(path);
      return f && { body: f.handle.createReadStream(), size: f.size };
    },
    close: async () => undefined,
  };
}

function parseJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
