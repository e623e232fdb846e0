/*
 * Reading zip archives (JAR, WAR, EAR) from memory with yauzl, bounded: a
 * cap on the entries listed and on the bytes inflated from any one entry,
 * checked against the declared size before reading and against the bytes
 * actually produced while reading (yauzl also refuses an entry whose data
 * does not match its declared size), so a compression bomb stops early.
 */
import { fromBufferPromise, type Entry, type ZipFile } from 'yauzl';

/** An archive that cannot be read, or a limit it exceeds. */
export class ZipArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZipArchiveError';
  }
}

/** One file entry of an archive, read on demand. */
export interface ZipEntryReader {
  /** The entry's name inside the archive. */
  readonly name: string;
  readonly uncompressedSize: number;
  /** The entry's bytes; throws ZipArchiveError past `limit` bytes or on corrupt or encrypted data. */
  read(limit: number): Promise<Buffer>;
}

/**
 * Calls `visit` for each file entry (directories skipped) in archive order,
 * at most `maxEntries` of them; stops early when `visit` returns false.
 * Throws ZipArchiveError when the archive is not a readable zip.
 */
export async function eachZipEntry(
  data: Buffer,
  maxEntries: number,
  visit: (entry: ZipEntryReader) => Promise<boolean | void>,
): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await fromBufferPromise(data, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false });
  } catch (err) {
    throw new ZipArchiveError(`not a zip archive (${(err as Error).message})`, { cause: err });
  }
  // Errors reach the pending read through eachEntry; this keeps a late one from being an unhandled 'error' event.
  zip.on('error', () => {});
  let count = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      if (++count > maxEntries) throw new ZipArchiveError(`more than ${maxEntries} entries`);
      const name = entry.fileName;
      if (name.endsWith('/')) continue;
      const reader: ZipEntryReader = { name, uncompressedSize: entry.uncompressedSize, read: (limit) => readEntry(zip, entry, limit) };
      if ((await visit(reader)) === false) break;
    }
  } catch (err) {
    if (err instanceof ZipArchiveError) throw err;
    throw new ZipArchiveError(`corrupt zip archive (${(err as Error).message})`, { cause: err });
  } finally {
    zip.close();
  }
}

async function readEntry(zip: ZipFile, entry: Entry, limit: number): Promise<Buffer> {
  if (entry.uncompressedSize > limit) throw new ZipArchiveError(`${entry.fileName}: ${entry.uncompressedSize} bytes is over the ${limit}-byte limit`);
  if (entry.isEncrypted()) throw new ZipArchiveError(`${entry.fileName}: encrypted`);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    const stream = await zip.openReadStreamPromise(entry);
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > limit) {
        stream.destroy();
        throw new ZipArchiveError(`${entry.fileName}: inflates past the ${limit}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ZipArchiveError) throw err;
    throw new ZipArchiveError(`${entry.fileName}: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks, total);
}
