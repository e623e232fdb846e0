import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Digest, DigestParseError } from '../oci/digest.js';
import {
  blobUnknown,
  blobUploadInvalid,
  blobUploadUnknown,
  digestInvalid,
  RegistryError,
  sizeInvalid,
} from '../errors/registry-error.js';
import { BlobStore } from '../storage/blob-store.js';
import { StorageOffsetError } from '../storage/storage-driver.js';
import type { MetadataStore, UploadRecord } from '../metadata/metadata-store.js';
import type { PushRules } from './push-rules.js';

export interface UploadStatus {
  id: string;
  repository: string;
  /** Bytes received so far. */
  size: number;
}

/** A chunk as the client described it: Content-Range start/end (inclusive) and Content-Length, when given. */
export interface ChunkInfo {
  range?: { start: number; end: number };
  length?: number;
}

/** How often an active upload's row is touched, so the reaper sees it alive without a write per chunk. */
const TOUCH_INTERVAL_MS = 60_000;

/** Running sha256 of an upload's staging bytes, valid while `offset` equals the staged size. */
interface HashState {
  offset: number;
  hash: Hash;
}

/**
 * Blob upload sessions (distribution-spec "Pushing blobs"). The staged bytes
 * are the truth for the offset: a crash after bytes were written but before
 * the database noticed loses nothing, and the client resumes from the Range
 * the next status request reports. The sha256 state is kept in memory as an
 * optimisation only; any node (or this one after a restart) recomputes it
 * from the staged bytes when it is missing.
 */
export class BlobUploads {
  private readonly hashes = new Map<string, HashState>();
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly meta: MetadataStore,
    private readonly now: () => number = Date.now,
    private readonly rules?: Pick<PushRules, 'checkBlob'>,
  ) {}

  async start(repository: string): Promise<UploadStatus> {
    const id = randomUUID();
    const t = this.now();
    await this.meta.createUpload({ id, repository, size: 0, startedAt: t, updatedAt: t });
    return { id, repository, size: 0 };
  }

  async status(repository: string, id: string): Promise<UploadStatus> {
    const u = await this.session(repository, id);
    return { id, repository, size: await this.blobs.uploadSize(u.id) };
  }

  async append(repository: string, id: string, body: Readable, chunk: ChunkInfo, signal?: AbortSignal): Promise<UploadStatus> {
    return this.exclusive(id, async () => {
      const u = await this.session(repository, id);
      const size = await this.write(id, body, chunk, signal);
      // The staged bytes are the offset's truth; the row only needs to show the session is alive (for the reaper).
      if (this.now() - u.updatedAt >= TOUCH_INTERVAL_MS) await this.meta.updateUpload(id, size, this.now());
      return { id, repository, size };
    });
  }

  /**
   * Completes the upload: appends the optional last chunk, verifies the digest
   * over every staged byte, then makes the blob visible in the repository.
   * A digest mismatch cancels the upload (its bytes can never become that blob).
   */
  async finish(
    repository: string,
    id: string,
    digestParam: string | undefined,
    body: Readable | undefined,
    chunk: ChunkInfo,
    signal?: AbortSignal,
  ): Promise<{ digest: Digest; size: number }> {
    return this.exclusive(id, async () => {
      await this.session(repository, id);
      if (!digestParam) throw digestInvalid('the digest query parameter is required to complete an upload');
      let digest: Digest;
      try {
        digest = Digest.parse(digestParam);
      } catch (e) {
        throw digestInvalid((e as DigestParseError).message, { digest: digestParam });
      }
      let size = await this.blobs.uploadSize(id);
      if (body) size = await this.write(id, body, chunk, signal);
      const actual = await this.digestOf(id, digest.algorithm, size, signal);
      if (!actual.equals(digest)) {
        await this.discard(id);
        throw digestInvalid('provided digest did not match uploaded content', {
          expected: digest.toString(),
          actual: actual.toString(),
        });
      }
      if (this.rules) {
        try {
          await this.rules.checkBlob(repository, digest.toString(), size);
        } catch (e) {
          // Refused (quota): the staged bytes can never become this blob here.
          await this.discard(id);
          throw e;
        }
      }
      // Claimed before the bytes land, so garbage collection leaves them alone (protocol W1 in src/gc/).
      await this.meta.claimBlob(digest.toString(), size, this.now());
      if (size === 0 && (await this.blobs.driver.stat(BlobStore.uploadKey(id))) === undefined) {
        await this.blobs.putVerified(digest, new Uint8Array(0));
      } else {
        await this.blobs.commitUpload(id, digest);
      }
      // Session gone meanwhile (cancelled or reaped on another node): the bytes stay unlinked for GC.
      if (!(await this.meta.completeUpload(id, repository, digest.toString(), size, this.now()))) throw blobUploadUnknown(id);
      this.hashes.delete(id);
      return { digest, size };
    });
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.exclusive(id, async () => {
      await this.session(repository, id);
      await this.discard(id);
    });
  }

  /** Removes sessions idle since before `before`, with their staged bytes. Returns how many. */
  async reap(before: number, limit = 1000): Promise<number> {
    const stale = await this.meta.listStaleUploads(before, limit);
    for (const u of stale) {
      if (this.busy.has(u.id)) continue;
      await this.discard(u.id);
    }
    return stale.length;
  }

  // --- internals -----------------------------------------------------------------

  private async session(repository: string, id: string): Promise<UploadRecord> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw blobUploadUnknown(id);
    const u = await this.meta.getUpload(id);
    // A session belongs to the repository it was started in; another name cannot reach it.
    if (!u || u.repository !== repository) throw blobUploadUnknown(id);
    return u;
  }

  private async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.blobs.deleteUpload(id);
    await this.meta.deleteUpload(id);
  }

  /** Runs one operation per upload at a time in this process (chunks are ordered): a promise chain per id. */
  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.busy.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.busy.get(id) === tail) this.busy.delete(id);
    }
  }

  /** Validates the chunk against the staged size and appends it, hashing as it streams. */
  private async write(id: string, body: Readable, chunk: ChunkInfo, signal?: AbortSignal): Promise<number> {
    const offset = await this.blobs.uploadSize(id);
    if (chunk.range) {
      const { start, end } = chunk.range;
      if (start !== offset) {
        throw new RegistryError('RANGE_INVALID', `chunk starts at ${start} but the upload has ${offset} bytes`, {
          detail: { expectedStart: offset, start },
        });
      }
      if (chunk.length !== undefined && chunk.length !== end - start + 1) {
        throw sizeInvalid(`Content-Range ${start}-${end} covers ${end - start + 1} bytes but Content-Length is ${chunk.length}`);
      }
    }
    const state = await this.hashAt(id, offset, signal);
    const counter = { received: 0 };
    this.hashes.delete(id); // invalid until the append is known to have completed
    let size: number;
    try {
      // A generator, not a piped Transform: a client that goes away mid-body
      // surfaces as an error of this iteration, never as an unhandled 'error' event.
      size = await this.blobs.appendUpload(id, Readable.from(hashing(body, state.hash, counter)), offset, signal);
    } catch (e) {
      if (e instanceof StorageOffsetError) throw blobUploadInvalid('concurrent write to the same upload', 416);
      throw e;
    }
    const received = counter.received;
    if (size !== offset + received) throw blobUploadInvalid('staged size does not match the bytes received');
    if (chunk.length !== undefined && received !== chunk.length) {
      throw sizeInvalid(`received ${received} bytes but Content-Length is ${chunk.length}`);
    }
    this.hashes.set(id, { offset: size, hash: state.hash });
    return size;
  }

  /** The running sha256 at `offset`, recomputed from the staged bytes when not in memory. */
  private async hashAt(id: string, offset: number, signal?: AbortSignal): Promise<HashState> {
    const cached = this.hashes.get(id);
    if (cached && cached.offset === offset) return cached;
    const hash = createHash('sha256');
    if (offset > 0) {
      const s = await this.blobs.readUpload(id, signal);
      if (!s) throw blobUnknown(id);
      for await (const c of s) hash.update(c as Buffer);
    }
    return { offset, hash };
  }

  private async digestOf(id: string, algorithm: 'sha256' | 'sha512', size: number, signal?: AbortSignal): Promise<Digest> {
    if (algorithm === 'sha256') {
      const state = await this.hashAt(id, size, signal);
      return Digest.fromHash('sha256', state.hash.copy());
    }
    const hash = createHash(algorithm);
    const s = await this.blobs.readUpload(id, signal);
    if (s) for await (const c of s) hash.update(c as Buffer);
    return Digest.fromHash(algorithm, hash);
  }
}

/** Passes chunks through, updating the hash and the byte count. */
async function* hashing(body: AsyncIterable<unknown>, hash: Hash, counter: { received: number }): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    hash.update(c);
    counter.received += c.length;
    yield c;
  }
}
