import type { Readable } from 'node:stream';
import { Digest } from '../oci/digest.js';
import { StorageNotFoundError, type StorageDriver } from './storage-driver.js';

/**
 * Content-addressed blob bytes over a StorageDriver, deduplicated across
 * repositories (which repository may see a blob is metadata's business).
 * Layout: blobs/<alg>/<first two hex>/<hex> and uploads/<id>/data.
 */
export interface BlobStoreOptions {
  /** Presigns a GET of a storage key, for drivers whose bytes clients may fetch directly (S3). */
  presignGet?: (key: string) => Promise<string>;
}

export class BlobStore {
  constructor(
    readonly driver: StorageDriver,
    private readonly opts: BlobStoreOptions = {},
  ) {}

  /** A URL the client may GET the blob's bytes from directly, when the driver supports it and it is configured. */
  async redirectUrl(digest: Digest): Promise<string | undefined> {
    return this.opts.presignGet?.(BlobStore.blobKey(digest));
  }

  static blobKey(digest: Digest): string {
    return `blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
  }

  static uploadKey(id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`invalid upload id ${id}`);
    return `uploads/${id}/data`;
  }

  async stat(digest: Digest): Promise<{ size: number } | undefined> {
    return this.driver.stat(BlobStore.blobKey(digest));
  }

  /** Streams a blob or an inclusive byte range of it; undefined when the bytes are missing. */
  async read(digest: Digest, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable | undefined> {
    try {
      return await this.driver.read(BlobStore.blobKey(digest), opts);
    } catch (e) {
      if (e instanceof StorageNotFoundError) return undefined;
      throw e;
    }
  }

  /** Whole small blob (manifests) in memory; undefined when missing. */
  async readBytes(digest: Digest, signal?: AbortSignal): Promise<Buffer | undefined> {
    const s = await this.read(digest, { signal });
    if (!s) return undefined;
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  /** Stores bytes whose digest the caller has already verified (manifests). Atomic. */
  async putVerified(digest: Digest, bytes: Uint8Array): Promise<void> {
    const key = BlobStore.blobKey(digest);
    const existing = await this.driver.stat(key);
    if (existing && existing.size === bytes.byteLength) return;
    await this.driver.put(key, bytes);
  }

  // --- upload staging ----------------------------------------------------------

  async uploadSize(id: string): Promise<number> {
    return (await this.driver.stat(BlobStore.uploadKey(id)))?.size ?? 0;
  }

  async appendUpload(id: string, body: Readable, offset: number, signal?: AbortSignal): Promise<number> {
    return this.driver.append(BlobStore.uploadKey(id), body, offset, { signal });
  }

  async readUpload(id: string, signal?: AbortSignal): Promise<Readable | undefined> {
    try {
      return await this.driver.read(BlobStore.uploadKey(id), { signal });
    } catch (e) {
      if (e instanceof StorageNotFoundError) return undefined;
      throw e;
    }
  }

  /** Makes a verified upload the blob `digest`: visible whole, or not at all. */
  async commitUpload(id: string, digest: Digest): Promise<void> {
    await this.driver.commit(BlobStore.uploadKey(id), BlobStore.blobKey(digest));
  }

  async deleteUpload(id: string): Promise<void> {
    await this.driver.delete(BlobStore.uploadKey(id));
  }

  // --- garbage collection --------------------------------------------------------

  /** Deletes a blob's bytes; deleting missing bytes succeeds. Only garbage collection calls this. */
  async deleteBlob(digest: Digest): Promise<void> {
    await this.driver.delete(BlobStore.blobKey(digest));
  }

  /** Digests of every blob in storage, in no particular order; keys that are not blobs are skipped. */
  async *listDigests(): AsyncIterable<Digest> {
    for await (const key of this.driver.list('blobs')) {
      const m = /^blobs\/(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(key);
      if (!m || !m[3]!.startsWith(m[2]!)) continue;
      const d = Digest.tryParse(`${m[1]}:${m[3]}`);
      if (d) yield d;
    }
  }
}
