/**
 * Where the CLI reads an image from (`berth scan IMAGE`, `berth sign IMAGE`): what the user
 * wrote decides the kind of source.
 *
 * - `oci:PATH[:TAG]`: an OCI image layout directory (image-spec image-layout.md); TAG selects the
 *   manifest whose `org.opencontainers.image.ref.name` is TAG; without it the layout must hold one.
 * - `docker-archive:PATH[:NAME[:TAG]]`: a `docker save` tarball (docker-archive-source.ts); the
 *   reference selects an image by its RepoTags (or io.containerd.image.name); without it the
 *   archive must hold one.
 * - anything else: a registry reference, `[REGISTRY/]NAME[:TAG][@DIGEST]` (oci/reference.ts);
 *   Docker Hub (`docker.io`, the default) is https://registry-1.docker.io with single names under
 *   `library/`; loopback registries speak plain HTTP, others HTTPS unless `insecure`.
 *
 * PATH may contain colons: when the whole text after the prefix names an existing directory (for
 * `oci:`) or file (for `docker-archive:`), that is PATH and nothing is selected. Otherwise PATH is
 * the longest part before a colon that names one, and what follows the colon must be a valid tag
 * (`oci:`) or image name (`docker-archive:`). So `oci:/data/img:v1` reads the directory
 * `/data/img:v1` if there is one, else the tag `v1` of `/data/img`.
 */
import { stat } from 'node:fs/promises';
import { Digest } from '../oci/digest.js';
import { MANIFEST_TYPES } from '../oci/media-type.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { isValidTag, parseImageReference } from '../oci/reference.js';
import { openDockerArchive } from './docker-archive-source.js';
import { ImageSourceError, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, canonicalName, checkManifest, parseDigest, selectImage, verifiedStream, type ImageSource, type ManifestBytes } from './image-content.js';
import { directoryFiles, layoutSource, readLayoutIndex } from './oci-layout-source.js';
import { RegistryClient } from './registry-client.js';
import { isLoopbackHost } from './registry-login.js';

export { ImageSourceError, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from './image-content.js';
export type { Descriptor, ImageSource, ManifestBytes } from './image-content.js';

export interface OpenImageSourceOptions {
  /** Plain HTTP to a registry that is not on a loopback address. */
  insecure?: boolean;
  /** Credentials for the registry, asked once with its URL (the CLI passes its Docker config lookup). */
  credentials?: (registryUrl: string) => Promise<{ username: string; password: string } | undefined>;
  /** Limit for connecting and receiving response headers from a registry. */
  timeoutMs?: number;
}

/** Docker Hub's registry API, where `docker.io/...` images are pulled from. */
export const DOCKER_HUB_URL = 'https://registry-1.docker.io';

/** Colons tried when splitting `PATH:SUFFIX` (a path with more is not looked at further). */
const MAX_COLONS = 64;

/**
 * Opens the image `ref` names (see the top of this file). Files are opened and checked now, so a
 * wrong path, a hostile archive or a layout without the tag fails here with an ImageSourceError;
 * a registry is only contacted by root(), manifest() and blob() (RemoteRegistryError when it fails).
 */
export async function openImageSource(ref: string, opts: OpenImageSourceOptions = {}): Promise<ImageSource> {
  if (ref.startsWith('oci:')) {
    const { path, suffix } = await splitLocation(ref, ref.slice('oci:'.length), 'directory', isValidTag);
    const files = directoryFiles(ref, path);
    const chosen = selectImage(ref, await readLayoutIndex(ref, files), suffix, (n) => n === suffix);
    return layoutSource(ref, files, chosen.descriptor);
  }
  if (ref.startsWith('docker-archive:')) {
    const { path, suffix } = await splitLocation(ref, ref.slice('docker-archive:'.length), 'file', isImageName);
    return openDockerArchive(ref, path, suffix);
  }
  return openRegistry(ref, opts);
}

/**
 * The child manifests of an index per platform (`os/architecture[/variant]`, `unknown` when the
 * descriptor has none), skipping attestation manifests (BuildKit lists them as platform
 * unknown/unknown with a `vnd.docker.reference.type` annotation) and descriptors that are not
 * manifests. Throws ImageSourceError when `index` is not a valid index.
 */
export function platformsOf(index: ManifestBytes): { platform: string; descriptor: Descriptor }[] {
  let manifests: Descriptor[];
  try {
    const parsed = parseManifest(index.bytes, index.mediaType);
    if (parsed.kind !== 'index') throw new Error(`it is a ${parsed.mediaType}`);
    manifests = parsed.manifests;
  } catch (e) {
    throw new ImageSourceError(index.digest, `not an image index: ${(e as Error).message}`, { cause: e });
  }
  return manifests
    .filter((d) => MANIFEST_TYPES.includes(d.mediaType) && d.annotations?.['vnd.docker.reference.type'] === undefined)
    .map((descriptor) => {
      const p = descriptor.platform;
      return { platform: p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : 'unknown', descriptor };
    });
}

/**
 * The config blob a manifest names, read whole: at most MAX_CONFIG_BYTES (refused before reading
 * when the descriptor says more) and digest-verified. Throws ImageSourceError.
 */
export async function readConfig(source: ImageSource, config: Descriptor): Promise<Buffer> {
  if (config.size > MAX_CONFIG_BYTES) {
    throw new ImageSourceError(source.name, `config ${config.digest} is ${config.size} bytes; the limit is ${MAX_CONFIG_BYTES}`);
  }
  const parts: Buffer[] = [];
  for await (const chunk of await source.blob(config.digest, config.size)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function openRegistry(ref: string, opts: OpenImageSourceOptions): Promise<ImageSource> {
  let parsed;
  try {
    parsed = parseImageReference(ref);
  } catch (e) {
    throw new ImageSourceError(ref, (e as Error).message, { cause: e });
  }
  const { registry, name } = canonicalName(parsed.registry, parsed.name);
  const url = registry === 'docker.io' ? DOCKER_HUB_URL : `${opts.insecure || isLoopbackHost(registry) ? 'http' : 'https'}://${registry}`;
  const credentials = await opts.credentials?.(url);
  const client = new RegistryClient({ url, username: credentials?.username, password: credentials?.password, timeoutMs: opts.timeoutMs });
  const fetchManifest = async (reference: string, expected: string | undefined): Promise<ManifestBytes> => {
    const m = await client.getManifest(name, reference, MAX_MANIFEST_BYTES);
    if (!m) throw new ImageSourceError(ref, `manifest ${reference} is not in ${registry}/${name}`);
    // The registry's Docker-Content-Digest, when it is one, must agree with the bytes too.
    const header = m.digest !== undefined && Digest.tryParse(m.digest) ? m.digest : undefined;
    const checked = checkManifest(ref, `manifest ${reference}`, m.bytes, m.mediaType, { digest: expected ?? header });
    if (expected && header && Digest.tryParse(header)?.algorithm === Digest.tryParse(expected)?.algorithm && header !== expected) {
      throw new ImageSourceError(ref, `the registry says manifest ${reference} is ${header}`);
    }
    return checked;
  };
  return {
    name: ref,
    root: () => fetchManifest(parsed.digest ?? parsed.tag ?? 'latest', parsed.digest),
    manifest: async (digest) => fetchManifest(parseDigest(ref, digest).toString(), digest),
    async blob(digest, size) {
      const d = parseDigest(ref, digest);
      const b = await client.getBlob(name, d.toString());
      if (!b) throw new ImageSourceError(ref, `blob ${digest} is not in ${registry}/${name}`);
      if (size !== undefined && b.size !== undefined && b.size !== size) {
        b.body.destroy();
        throw new ImageSourceError(ref, `blob ${digest} is ${b.size} bytes, not ${size}`);
      }
      return verifiedStream(ref, b.body, d, size ?? b.size, `blob ${digest}`);
    },
    close: async () => undefined,
  };
}

/** `name[:tag]` as docker save archives name images (no digest). */
function isImageName(s: string): boolean {
  try {
    return parseImageReference(s).digest === undefined;
  } catch {
    return false;
  }
}

/** Splits `PATH[:SUFFIX]` by the rule at the top of this file. */
async function splitLocation(ref: string, text: string, kind: 'directory' | 'file', validSuffix: (s: string) => boolean): Promise<{ path: string; suffix?: string }> {
  if (text === '') throw new ImageSourceError(ref, `needs a ${kind} after the colon`);
  if (await isKind(text, kind)) return { path: text };
  let colon = text.lastIndexOf(':');
  for (let tries = 0; colon > 0 && tries < MAX_COLONS; tries++) {
    const path = text.slice(0, colon);
    const suffix = text.slice(colon + 1);
    if (validSuffix(suffix) && (await isKind(path, kind))) return { path, suffix };
    colon = text.lastIndexOf(':', colon - 1);
  }
  throw new ImageSourceError(ref, `there is no ${kind} ${text}${text.includes(':') ? ' (nor one before a colon in it)' : ''}`);
}

async function isKind(path: string, kind: 'directory' | 'file'): Promise<boolean> {
  try {
    const s = await stat(path);
    return kind === 'directory' ? s.isDirectory() : s.isFile();
  } catch {
    return false;
  }
}
