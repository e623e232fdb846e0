/**
 * What every image source hands out, and the checks that make it trustworthy: manifests whose
 * bytes hash to the digest they are asked by (and stay within 4 MiB), and blob streams that error
 * when their bytes do not hash to the digest or do not have the size they were announced with.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createHash, type Hash } from 'node:crypto';
import { Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MAX_MANIFEST_BYTES } from './registry-client.js';

export type { Descriptor };
/** Manifests and indexes larger than this are refused. */
export { MAX_MANIFEST_BYTES };

export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** An image to read; its methods throw ImageSourceError (RemoteRegistryError when a registry fails). */
export interface ImageSource {
  /** What the user gave, for messages and reports (e.g. localhost:5000/team/app:1, oci:./dir:tag). */
  readonly name: string;
  /** The manifest or index the reference names, digest-verified. */
  root(): Promise<ManifestBytes>;
  /** A manifest by digest (an index's child), digest-verified. */
  manifest(digest: string): Promise<ManifestBytes>;
  /** A blob's bytes as a stream (layers can be large); the stream errors if the bytes do not match the digest. */
  blob(digest: string, size?: number): Promise<Readable>;
  close(): Promise<void>;
}

/** A source cannot be opened or read: what was wrong, prefixed with the source's name. */
export class ImageSourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${message}`, options);
    this.name = 'ImageSourceError';
  }
}

/** Image config JSON larger than this is refused (real configs with long histories stay far below). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Parses a digest the caller asked for; an ImageSourceError when it is not a sha256/sha512 digest. */
export function parseDigest(source: string, digest: string): Digest {
  try {
    return Digest.parse(digest);
  } catch (e) {
    throw new ImageSourceError(source, (e as Error).message, { cause: e });
  }
}

/**
 * Checks manifest bytes: at most MAX_MANIFEST_BYTES, hashing to `expected.digest` (when given; the
 * algorithm follows it) and of `expected.size` (when given), and a valid image manifest or index
 * (its media type from the JSON, else `declaredType`). Answers them with their digest; throws
 * ImageSourceError naming `what`.
 */
export function checkManifest(source: string, what: string, bytes: Buffer, declaredType: string | undefined, expected: { digest?: string; size?: number } = {}): ManifestBytes {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new ImageSourceError(source, `${what} is ${bytes.length} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
  const want = expected.digest === undefined ? undefined : parseDigest(source, expected.digest);
  const digest = Digest.fromBytes(bytes, want?.algorithm ?? 'sha256').toString();
  if (want && digest !== want.toString()) throw new ImageSourceError(source, `${what} hashes to ${digest}, not ${want.toString()}`);
  if (expected.size !== undefined && bytes.length !== expected.size) {
    throw new ImageSourceError(source, `${what} is ${bytes.length} bytes, not ${expected.size} as its descriptor says`);
  }
  try {
    return { bytes, mediaType: parseManifest(bytes, declaredType || undefined).mediaType, digest };
  } catch (e) {
    throw new ImageSourceError(source, `${what} is not a valid manifest: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `body` passed through a check: the returned stream errors with an ImageSourceError when more
 * bytes than `size` arrive, when fewer arrive, when they do not hash to `digest`, or when `body`
 * fails. Destroying the returned stream destroys `body`.
 */
export function verifiedStream(source: string, body: Readable, digest: Digest, size: number | undefined, what: string): Readable {
  const check = new DigestCheck(source, digest, size, what);
  body.on('error', (e: Error) => check.destroy(e instanceof ImageSourceError ? e : new ImageSourceError(source, `reading ${what} failed: ${e.message}`, { cause: e })));
  check.on('close', () => body.destroy());
  body.pipe(check);
  return check;
}

class DigestCheck extends Transform {
  private readonly hash: Hash;
  private seen = 0;

  constructor(
    private readonly source: string,
    private readonly digest: Digest,
    private readonly size: number | undefined,
    private readonly what: string,
  ) {
    super();
    this.hash = createHash(digest.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.size !== undefined && this.seen > this.size) {
      cb(new ImageSourceError(this.source, `${this.what} has more than the ${this.size} bytes announced`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.seen !== this.size) {
      cb(new ImageSourceError(this.source, `${this.what} ended after ${this.seen} of ${this.size} bytes`));
      return;
    }
    const got = `${this.digest.algorithm}:${this.hash.digest('hex')}`;
    if (got !== this.digest.toString()) {
      cb(new ImageSourceError(this.source, `${this.what} hashes to ${got}, not ${this.digest.toString()}`));
      return;
    }
    cb();
  }
}

/**
 * The one candidate `wanted` names (`matches` decides), or the only candidate when nothing is
 * wanted. Throws ImageSourceError listing the names there are when none or several fit.
 */
export function selectImage<T extends { names: string[] }>(source: string, candidates: T[], wanted: string | undefined, matches: (name: string) => boolean): T {
  const list = (cs: T[]) => cs.map((c) => (c.names.length ? c.names.join(', ') : '(unnamed)')).join('; ');
  if (candidates.length === 0) throw new ImageSourceError(source, 'holds no image');
  if (wanted === undefined) {
    if (candidates.length === 1) return candidates[0]!;
    throw new ImageSourceError(source, `holds ${candidates.length} images; name one of: ${list(candidates)}`);
  }
  const found = candidates.filter((c) => c.names.some(matches));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new ImageSourceError(source, `has no image named ${wanted}; it holds: ${list(candidates)}`);
  throw new ImageSourceError(source, `has ${found.length} images named ${wanted}`);
}

/**
 * A reference in the form registries are addressed by: Docker Hub's aliases (`docker.io`,
 * `index.docker.io`) as `docker.io`, its single-component names under `library/`, as docker does.
 */
export function canonicalName(registry: string, name: string): { registry: string; name: string } {
  const hub = registry === 'docker.io' || registry === 'index.docker.io';
  return { registry: hub ? 'docker.io' : registry, name: hub && !name.includes('/') ? `library/${name}` : name };
}
