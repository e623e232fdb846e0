/*
 * Test helpers for the layer reader and the OS catalogers: fixture loading
 * and layers built from bytes in the test (tar-stream's packer for entries
 * of every type, test/helpers' own ustar writer for plain ones).
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { LayerInput } from './layer-reader.js';

/** test/fixtures/scan-os, found from the compiled file's location (.build-x/src/scan/layers). */
export const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/scan-os/', import.meta.url));

export function fixture(relative: string): Buffer {
  return readFileSync(FIXTURES + relative);
}

export interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A tar archive of `entries`, written by tar-stream's packer (ustar, pax headers for long names). */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode, mtime: new Date(1700000000000) };
    if (e.body === undefined) p.entry(header);
    else p.entry(header, e.body);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export const MT_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MT_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MT_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** A layer whose blob is `bytes`, served in `chunk`-byte pieces. */
export function layer(digest: string, bytes: Buffer, mediaType = MT_TAR, chunk = 64 * 1024): LayerInput {
  return {
    digest,
    mediaType,
    open: async () => {
      const pieces: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += chunk) pieces.push(bytes.subarray(at, at + chunk));
      return Readable.from(pieces, { objectMode: false });
    },
  };
}

/** A gzipped layer of `entries`. */
export async function gzipLayer(digest: string, entries: Entry[]): Promise<LayerInput> {
  return layer(digest, gzipSync(await tarOf(entries)), MT_GZIP);
}

/** An uncompressed layer of `entries`. */
export async function tarLayer(digest: string, entries: Entry[]): Promise<LayerInput> {
  return layer(digest, await tarOf(entries));
}
