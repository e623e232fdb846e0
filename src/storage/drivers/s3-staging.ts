import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable, addAbortSignal } from 'node:stream';
import { StorageOffsetError } from '../storage-driver.js';
import { MAX_LIST_PAGES, abortError, isInvalidRange, isNotFound, isPreconditionFailed, storageFailure } from './s3-errors.js';

/**
 * Upload staging on S3, which cannot append: a staging object `K` is the set
 * of part objects `K.parts/<offset>` (offset as 16-digit zero-padded decimal,
 * so key order is byte order), read back to back. An empty staging object is
 * the marker `K.parts/empty` alone. A part is created with If-None-Match: *,
 * so of two writers at the same offset exactly one succeeds.
 */
export const PARTS_SUFFIX = '.parts/';
const EMPTY_MARKER = 'empty';
const OFFSET_DIGITS = 16;
const PART_KEY = /^(.*)\.parts\/(\d{16}|empty)$/;

export function partsPrefix(fullKey: string): string {
  return `${fullKey}${PARTS_SUFFIX}`;
}

export function partKey(fullKey: string, offset: number): string {
  return `${partsPrefix(fullKey)}${String(offset).padStart(OFFSET_DIGITS, '0')}`;
}

export function emptyMarkerKey(fullKey: string): string {
  return `${partsPrefix(fullKey)}${EMPTY_MARKER}`;
}

/** The staging object a part key belongs to, or undefined for an ordinary key. */
export function stagingKeyOf(s3Key: string): string | undefined {
  return PART_KEY.exec(s3Key)?.[1];
}

export interface Part {
  /** Full S3 key of the part object. */
  key: string;
  offset: number;
  size: number;
}

export interface Staged {
  /** Data parts in offset order. */
  parts: Part[];
  /** Every S3 key the staging object consists of (parts and marker), for deletion. */
  keys: string[];
}

/** Lists the parts of staging object `fullKey`; undefined when it has none (not even the empty marker). */
export async function listStaged(
  client: S3Client,
  bucket: string,
  fullKey: string,
  signal?: AbortSignal,
): Promise<Staged | undefined> {
  const prefix = partsPrefix(fullKey);
  const parts: Part[] = [];
  const keys: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const res = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      { abortSignal: signal },
    );
    for (const o of res.Contents ?? []) {
      if (o.Key === undefined) continue;
      const name = o.Key.slice(prefix.length);
      if (name === EMPTY_MARKER) keys.push(o.Key);
      else if (/^\d{16}$/.test(name)) {
        keys.push(o.Key);
        parts.push({ key: o.Key, offset: Number(name), size: o.Size ?? 0 });
      }
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
    if (token === undefined) break;
  }
  if (keys.length === 0) return undefined;
  parts.sort((a, b) => a.offset - b.offset);
  return { parts, keys };
}

/**
 * The size of a staging object. Throws when its parts are not contiguous from
 * offset 0 (something deleted a part while an append ran): such an object
 * cannot be read back as one byte sequence.
 */
export function stagedSize(staged: Staged, fullKey: string): number {
  let size = 0;
  for (const p of staged.parts) {
    if (p.offset !== size) {
      throw new Error(`s3 staging object ${fullKey} is not contiguous: part at offset ${p.offset}, expected ${size}`);
    }
    size += p.size;
  }
  return size;
}

/**
 * Creates the part at `pos` of staging object `full` (the driver's `key`,
 * appended to at `offset`). If-None-Match: * makes the write lose with 412
 * when any writer created that part first; that is a StorageOffsetError,
 * unless the part holds exactly these bytes: a retried PUT whose first
 * attempt did store the part meets 412 too, and the part is then its own.
 */
export async function writePart(
  client: S3Client,
  bucket: string,
  at: { key: string; full: string; offset: number; pos: number },
  piece: Buffer,
  signal?: AbortSignal,
): Promise<void> {
  const md5 = createHash('md5').update(piece).digest();
  const Key = partKey(at.full, at.pos);
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key,
        Body: piece,
        ContentLength: piece.length,
        ContentMD5: md5.toString('base64'),
        IfNoneMatch: '*',
      }),
      { abortSignal: signal },
    );
    return;
  } catch (e) {
    if (!isPreconditionFailed(e)) throw storageFailure(e, 'append', at.key);
  }
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal });
    if (head.ContentLength === piece.length && head.ETag?.replace(/"/g, '') === md5.toString('hex')) return;
    const staged = await listStaged(client, bucket, at.full, signal);
    throw new StorageOffsetError(at.key, at.offset, staged ? stagedSize(staged, at.full) : 0);
  } catch (e) {
    throw storageFailure(e, 'append', at.key);
  }
}

/** Marks an empty staging object (an append of nothing at offset 0 creates one). */
export async function writeEmptyMarker(
  client: S3Client,
  bucket: string,
  key: string,
  full: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: emptyMarkerKey(full), Body: Buffer.alloc(0), IfNoneMatch: '*' }),
      { abortSignal: signal },
    );
  } catch (e) {
    if (!isPreconditionFailed(e)) throw storageFailure(e, 'append', key); // 412: it exists already
  }
}

/**
 * GetObject of `key` (or bytes [start, end] of it) as a Node stream. The
 * request itself is cancelled by `signal` while it waits for headers; after
 * that the body stream is what `signal` destroys (with an AbortError), so a
 * reader sees the abort as the stream's error and nothing else.
 * Resolves undefined when the range starts past the end of the object (416).
 */
export async function getBody(
  client: S3Client,
  bucket: string,
  key: string,
  range: { start?: number; end?: number },
  signal?: AbortSignal,
): Promise<Readable | undefined> {
  signal?.throwIfAborted();
  const ranged = range.start !== undefined || range.end !== undefined;
  const header = ranged ? `bytes=${range.start ?? 0}-${range.end ?? ''}` : undefined;
  const request = new AbortController();
  const forward = (): void => request.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  let body: Readable;
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: header }), {
      abortSignal: request.signal,
    });
    if (!(res.Body instanceof Readable)) throw new Error(`s3 GetObject ${key}: body is not a Node stream`);
    body = res.Body;
  } catch (e) {
    if (isInvalidRange(e)) return undefined;
    throw e;
  } finally {
    signal?.removeEventListener('abort', forward);
  }
  if (signal?.aborted) {
    body.destroy();
    throw abortError(signal);
  }
  return signal ? addAbortSignal(signal, body) : body;
}

/**
 * Bytes [start, end] (inclusive, already clamped to the object) of a staging
 * object, fetched part by part with ranged GETs, one part at a time.
 */
export function concatParts(
  client: S3Client,
  bucket: string,
  fullKey: string,
  parts: Part[],
  start: number,
  end: number,
  signal?: AbortSignal,
): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (const p of parts) {
      const last = p.offset + p.size - 1;
      if (p.size === 0 || last < start || p.offset > end) continue;
      const from = Math.max(start, p.offset) - p.offset;
      const to = Math.min(end, last) - p.offset;
      const whole = from === 0 && to === p.size - 1;
      let body: Readable | undefined;
      try {
        body = await getBody(client, bucket, p.key, whole ? {} : { start: from, end: to }, signal);
      } catch (e) {
        if (isNotFound(e)) throw new Error(`s3 staging object ${fullKey} lost part ${p.key} while being read`, { cause: e });
        throw e;
      }
      if (!body) throw new Error(`s3 staging object ${fullKey}: part ${p.key} is shorter than listed`);
      try {
        for await (const c of body) yield c as Buffer;
      } finally {
        body.destroy();
      }
    }
  }
  const stream = Readable.from(gen(), { objectMode: false, highWaterMark: 1024 * 1024 });
  return signal ? addAbortSignal(signal, stream) : stream;
}

/**
 * Cuts a stream of chunks into pieces of exactly `size` bytes (the last one
 * shorter), holding at most one piece plus one chunk in memory.
 */
export async function* fixedPieces(body: AsyncIterable<unknown>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of body) {
    let c = toBuffer(chunk);
    while (heldBytes + c.length >= size) {
      const take = size - heldBytes;
      held.push(c.subarray(0, take));
      yield Buffer.concat(held, size);
      c = c.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (c.length > 0) {
      held.push(c);
      heldBytes += c.length;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`body chunk is not bytes: ${typeof chunk}`);
}
