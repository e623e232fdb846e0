import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, addAbortSignal } from 'node:stream';
import { StorageNotFoundError, StorageOffsetError, type StorageDriver } from '../storage-driver.js';
import { MAX_SINGLE_OBJECT, MIN_MULTIPART_PART, abortStaleUploads, assemble } from './s3-commit.js';
import { MAX_LIST_PAGES, isNotFound, storageFailure } from './s3-errors.js';
import {
  PARTS_SUFFIX,
  concatParts,
  fixedPieces,
  getBody,
  listStaged,
  stagedSize,
  stagingKeyOf,
  writeEmptyMarker,
  writePart,
} from './s3-staging.js';

export interface S3DriverOptions {
  /** Endpoint URL of an S3-compatible server; omit for AWS S3. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, e.g. `berth/` (a missing trailing slash is added). */
  prefix?: string;
  /** Static credentials; without them the AWS SDK default credential chain applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style addressing; default true when `endpoint` is set (most S3-compatible servers need it). */
  forcePathStyle?: boolean;
  /** Part size of multipart puts and of upload staging parts (default 16 MiB). */
  partSizeBytes?: number;
  /** Parts transferred at once per object (default 4). */
  concurrency?: number;
}

const MiB = 1024 * 1024;

/**
 * StorageDriver on an S3-compatible bucket, every key under `prefix`.
 *
 * - put: lib-storage Upload (multipart when large). The object appears only
 *   when the upload completes, so readers never see a prefix of it; on error
 *   or abort the multipart upload is aborted (abortStaleMultipartUploads
 *   removes any a crash leaves).
 * - append/staging: S3 has no append, so a staging object is a run of part
 *   objects, each created with If-None-Match: * (see s3-staging.ts); any node
 *   can continue any upload, and two nodes appending at the same offset cannot
 *   both win.
 * - commit: server-side copy when the parts allow it (see s3-commit.ts).
 */
export class S3Driver implements StorageDriver {
  /** The SDK client (tests add middleware to it to observe the requests). */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly partSizeBytes: number;
  readonly concurrency: number;

  constructor(opts: S3DriverOptions) {
    if (!opts.bucket) throw new Error('s3 driver: bucket is required');
    if (!opts.region) throw new Error('s3 driver: region is required');
    const partSize = opts.partSizeBytes ?? 16 * MiB;
    if (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > MAX_SINGLE_OBJECT) {
      throw new Error(`s3 driver: partSizeBytes must be an integer from 1 to ${MAX_SINGLE_OBJECT}, got ${partSize}`);
    }
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new Error(`s3 driver: concurrency must be an integer from 1 to 64, got ${concurrency}`);
    }
    if ((opts.accessKeyId === undefined) !== (opts.secretAccessKey === undefined)) {
      throw new Error('s3 driver: accessKeyId and secretAccessKey go together');
    }
    let prefix = opts.prefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    if (prefix !== '') checkKey(prefix.slice(0, -1), 'prefix');
    this.bucket = opts.bucket;
    this.prefix = prefix;
    this.partSizeBytes = partSize;
    this.concurrency = concurrency;
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      credentials:
        opts.accessKeyId !== undefined && opts.secretAccessKey !== undefined
          ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
          : undefined,
      // Only the checksums S3 requires: the default (CRC32 on every upload)
      // breaks streamed uploads on S3-compatible servers such as Ceph RGW.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Without these a silent server hangs a request forever. The idle limit
      // is long because a read stream paused by a slow client is idle too.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 300_000 },
    });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const full = this.full(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return { size: head.ContentLength ?? 0 };
    } catch (e) {
      if (!isNotFound(e)) throw storageFailure(e, 'stat', key);
    }
    try {
      const staged = await listStaged(this.client, this.bucket, full);
      return staged ? { size: stagedSize(staged, full) } : undefined;
    } catch (e) {
      throw storageFailure(e, 'stat', key);
    }
  }

  async read(key: string, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const full = this.full(key);
    const { start, end, signal } = opts;
    try {
      // undefined: the range starts past the end; an empty stream, as from a file.
      return (await getBody(this.client, this.bucket, full, { start, end }, signal)) ?? Readable.from([]);
    } catch (e) {
      if (!isNotFound(e)) throw storageFailure(e, 'read', key);
    }
    try {
      const staged = await listStaged(this.client, this.bucket, full, signal);
      if (!staged) throw new StorageNotFoundError(key);
      const size = stagedSize(staged, full);
      const last = Math.min(end ?? size - 1, size - 1);
      return concatParts(this.client, this.bucket, full, staged.parts, start ?? 0, last, signal);
    } catch (e) {
      throw storageFailure(e, 'read', key);
    }
  }

  async put(key: string, body: Readable | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const full = this.full(key);
    const { signal } = opts;
    signal?.throwIfAborted();
    // An abort destroys the body, so the upload fails before it completes and
    // lib-storage aborts its multipart upload. (Handing Upload our signal
    // instead would reject at once while its requests went on and could still
    // store the object.) An abort after the body has ended changes nothing.
    let bodyError: unknown;
    if (!(body instanceof Uint8Array)) {
      if (signal) addAbortSignal(signal, body);
      body.once('error', (e) => (bodyError = e));
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: full, Body: body },
      partSize: Math.max(MIN_MULTIPART_PART, this.partSizeBytes),
      queueSize: this.concurrency,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      if (!(body instanceof Uint8Array)) body.destroy(); // stop reading a body nobody will store
      if (e === bodyError) throw e; // the caller's stream failed: its own error, unchanged
      throw storageFailure(e, 'put', key);
    }
  }

  async append(key: string, body: Readable, offset: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const full = this.full(key);
    const { signal } = opts;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`append ${key}: invalid offset ${offset}`);
    let existed: boolean;
    try {
      const staged = await listStaged(this.client, this.bucket, full, signal);
      const size = staged ? stagedSize(staged, full) : 0;
      if (size !== offset) throw new StorageOffsetError(key, offset, size);
      existed = staged !== undefined;
    } catch (e) {
      throw storageFailure(e, 'append', key);
    }
    if (signal) addAbortSignal(signal, body);
    let pos = offset;
    // Errors of the body itself propagate unchanged; parts already written stay
    // (the object then holds its old bytes and a prefix of the body).
    for await (const piece of fixedPieces(body, this.partSizeBytes)) {
      await writePart(this.client, this.bucket, { key, full, offset, pos }, piece, signal);
      pos += piece.length;
    }
    if (!existed && pos === 0) await writeEmptyMarker(this.client, this.bucket, key, full, signal);
    return pos;
  }

  async commit(from: string, to: string): Promise<void> {
    const src = this.full(from);
    const dst = this.full(to);
    try {
      const staged = await listStaged(this.client, this.bucket, src);
      if (await this.exists(dst)) {
        // Content addressing: the existing object holds the same bytes.
        if (staged) await this.deleteKeys(staged.keys);
        return;
      }
      if (!staged) throw new StorageNotFoundError(from);
      const size = stagedSize(staged, src);
      await assemble(this, staged.parts, size, src, dst);
      await this.deleteKeys(staged.keys);
    } catch (e) {
      throw storageFailure(e, 'commit', `${from} -> ${to}`);
    }
  }

  async delete(key: string): Promise<void> {
    const full = this.full(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
      const staged = await listStaged(this.client, this.bucket, full);
      if (staged) await this.deleteKeys(staged.keys);
    } catch (e) {
      throw storageFailure(e, 'delete', key);
    }
  }

  /**
   * Keys under `prefix`, taken as a directory ('a' lists a/..., not ab/...;
   * '' lists every key). A staging object is reported once, under its own
   * key, not as its parts.
   */
  async *list(dir: string): AsyncIterable<string> {
    const prefix = dir === '' || dir.endsWith('/') ? dir : `${dir}/`;
    if (prefix !== '') checkKey(prefix.slice(0, -1), 'list prefix');
    const reported = new Set<string>();
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
      } catch (e) {
        throw storageFailure(e, 'list', prefix);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined) continue;
        const rel = o.Key.slice(this.prefix.length);
        const staging = stagingKeyOf(rel);
        if (staging === undefined) yield rel;
        else if (staging.startsWith(prefix) && !reported.has(staging)) {
          reported.add(staging);
          yield staging;
        }
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (token === undefined) return;
    }
    throw new Error(`s3 list ${prefix}: more than ${MAX_LIST_PAGES} pages`);
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw storageFailure(e, 'ping', `bucket ${this.bucket}`);
    }
  }

  // --- beyond StorageDriver -----------------------------------------------------

  /**
   * A presigned GET URL for the stored object `key` (not a staging object),
   * valid `expiresSeconds`. Without start/end any Range header the client
   * sends is honoured; with them the Range `bytes=start-end` is part of the
   * signature, so the client must send exactly that Range header.
   */
  async presignGet(key: string, opts: { start?: number; end?: number; expiresSeconds: number }): Promise<string> {
    const full = this.full(key);
    const ranged = opts.start !== undefined || opts.end !== undefined;
    const range = ranged ? `bytes=${opts.start ?? 0}-${opts.end ?? ''}` : undefined;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: full, Range: range }), {
      expiresIn: opts.expiresSeconds,
    });
  }

  /**
   * Aborts multipart uploads under the prefix initiated more than
   * `olderThanMs` ago (what a crash mid-put or mid-commit leaves: invisible,
   * but billed). Returns how many it aborted. Pick an age well above the
   * longest put, or it aborts uploads other nodes are still writing.
   */
  async abortStaleMultipartUploads(olderThanMs: number): Promise<number> {
    try {
      return await abortStaleUploads(this.client, this.bucket, this.prefix, Date.now() - olderThanMs);
    } catch (e) {
      throw storageFailure(e, 'abort stale multipart uploads under', this.prefix || '(bucket root)');
    }
  }

  /** Closes the client's idle connections; the driver is unusable afterwards. */
  async close(): Promise<void> {
    this.client.destroy();
  }

  // --- internals ------------------------------------------------------------------

  /** The S3 key of `key`. Keys come from BlobStore; refusing odd ones keeps staging names unambiguous. */
  private full(key: string): string {
    checkKey(key, 'key');
    return this.prefix + key;
  }

  /** @internal used by s3-commit.ts */
  async exists(fullKey: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** @internal DeleteObjects in batches of 1000 (the S3 maximum). */
  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (res.Errors ?? []).filter((err) => err.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(`s3 DeleteObjects: ${failed.length} keys not deleted, e.g. ${first.Key}: ${first.Code} ${first.Message}`);
      }
    }
  }

  /** @internal a stream of bytes [0, size) of a staging object. */
  concat(full: string, parts: Parameters<typeof concatParts>[3], size: number): Readable {
    return concatParts(this.client, this.bucket, full, parts, 0, size - 1);
  }
}

/** Refuses keys that are empty, absolute, have empty, `.` or `..` segments, backslashes, or look like staging parts. */
function checkKey(key: string, what: string): void {
  const bad =
    key === '' ||
    key.includes('\\') ||
    key.includes(PARTS_SUFFIX) ||
    key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad) throw new Error(`s3 driver: invalid ${what} ${JSON.stringify(key)}`);
}
