/*
 * A layer blob as a stream of tar bytes: the compression is told by the
 * media type and checked against the first bytes (gzip 1f 8b, zstd 28 b5 2f fd,
 * anything else is read as a plain tar); the magic bytes win when they
 * disagree. Every decompressed byte is counted against the image's budget.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { baseMediaType } from '../../oci/media-type.js';
import { zstdDecompress, type ZstdWorkBudget } from './zstd-stream.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** Filesystem layer media types: OCI image-spec layer.md / media-types.md and Docker image manifest v2.2. */
const LAYER_MEDIA_TYPES: ReadonlyMap<string, Compression> = new Map([
  ['application/vnd.oci.image.layer.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.diff.tar.zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
]);

/** The compression a layer media type declares; undefined when it is not a filesystem layer we read. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_MEDIA_TYPES.get(baseMediaType(mediaType));
}

/** The compression the first bytes show. */
export function sniffCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Decompressed bytes read so far for the whole image, and how many are allowed. */
export interface ByteBudget {
  used: number;
  readonly max: number;
}

/**
 * The tar bytes of `source`: decompressed as its first bytes say, counted
 * against `bytes` and, for zstd, `work`. `detected` hears the compression
 * before any tar byte flows. The stream errors with `exceeded()` past the
 * byte budget, and with zlib's or the zstd decoder's error on bad input.
 */
export function tarBytes(
  source: Readable,
  budgets: { bytes: ByteBudget; work: ZstdWorkBudget; exceeded: () => Error },
  detected: (compression: Compression) => void,
): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    const input = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    const head: Buffer[] = [];
    let headLength = 0;
    while (headLength < 4) {
      const next = await input.next();
      if (next.done) break;
      head.push(asBuffer(next.value));
      headLength += next.value.length;
    }
    const first = Buffer.concat(head);
    const compression = sniffCompression(first);
    detected(compression);
    async function* replay(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      for (let next = await input.next(); !next.done; next = await input.next()) yield asBuffer(next.value);
    }
    const raw = replay();
    const decompressed: AsyncIterable<Buffer> =
      compression === 'gzip'
        ? // pipeline: an error on either side destroys both, so the loop below sees it.
          // 256 KiB output chunks: zlib's default 16 KiB makes inflating three times slower (npm run bench:scan).
          pipeline(Readable.from(raw, { objectMode: false }), createGunzip({ chunkSize: GUNZIP_CHUNK }), () => undefined)
        : compression === 'zstd'
          ? zstdDecompress(raw, budgets.work)
          : raw;
    try {
      for await (const chunk of decompressed) {
        budgets.bytes.used += chunk.length;
        if (budgets.bytes.used > budgets.bytes.max) throw budgets.exceeded();
        yield chunk;
      }
    } finally {
      source.destroy();
    }
  }
  return Readable.from(generate(), { objectMode: false });
}

const GUNZIP_CHUNK = 256 * 1024;

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
