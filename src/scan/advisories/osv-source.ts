import { createReadStream } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { AdvisoryDbError } from './errors.js';

/** One file's bytes from an import source, or why it was skipped. */
export type SourceItem = { source: string; bytes: Buffer } | { source: string; skipped: string };

/** Bounds on what an import reads; every loop and buffer is capped by these. */
export interface SourceLimits {
  /** Largest single record file (JSON file or zip entry). */
  maxRecordBytes: number;
  /** Most files in a folder tree or entries in a zip. */
  maxEntries: number;
  /** Deepest folder nesting followed. */
  maxDepth: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = { maxRecordBytes: 16 << 20, maxEntries: 2_000_000, maxDepth: 32 };

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

async function startsWithZipMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && (head.equals(ZIP_MAGIC) || head.equals(EMPTY_ZIP_MAGIC));
  } finally {
    await fh.close();
  }
}

/** Reads a stream into memory, failing once it passes `max` bytes. */
async function readBounded(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new AdvisoryDbError(`${what} is larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The OSV JSON files under `path`: the file itself, every `*.json` in a folder
 * tree (symlinks not followed, names in order), or every `*.json` entry of a
 * zip (streamed one entry at a time). Oversized files are yielded as skipped.
 * Throws AdvisoryDbError for a missing path, a corrupt zip, or a limit hit.
 */
export async function* readOsvSource(path: string, limits: SourceLimits, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const info = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    throw new AdvisoryDbError(`cannot read ${path}: ${e.code ?? e.message}`, { cause: e });
  });
  try {
    if (info.isDirectory()) yield* readFolder(path, limits, signal);
    else if (info.isFile() && (await startsWithZipMagic(path))) yield* readZip(path, limits, signal);
    else if (info.isFile()) yield await readJsonFile(path, info.size, limits);
    else throw new AdvisoryDbError(`${path} is neither a file nor a folder`);
  } catch (e) {
    if (e instanceof AdvisoryDbError || (e as Error).name === 'AbortError' || signal?.aborted) throw e;
    // File system trouble inside a folder (permissions, a file removed meanwhile).
    throw new AdvisoryDbError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

async function readJsonFile(path: string, size: number, limits: SourceLimits): Promise<SourceItem> {
  if (size > limits.maxRecordBytes) return { source: path, skipped: `larger than ${limits.maxRecordBytes} bytes` };
  return { source: path, bytes: await readBounded(createReadStream(path), limits.maxRecordBytes, path) };
}

async function* readFolder(root: string, limits: SourceLimits, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  let seen = 0;
  const stack: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  while (stack.length > 0) {
    const { dir, depth } = stack.pop()!;
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const files: string[] = [];
    const dirs: string[] = [];
    for (const e of entries) {
      if (e.isDirectory()) dirs.push(join(dir, e.name));
      else if (e.isFile() && e.name.endsWith('.json')) files.push(join(dir, e.name));
    }
    if (dirs.length > 0 && depth + 1 > limits.maxDepth) throw new AdvisoryDbError(`${dir} is nested deeper than ${limits.maxDepth} folders`);
    // Pushed in reverse so sub-folders are walked in name order.
    for (const d of dirs.reverse()) stack.push({ dir: d, depth: depth + 1 });
    for (const file of files) {
      signal?.throwIfAborted();
      if (++seen > limits.maxEntries) throw new AdvisoryDbError(`${root} holds more than ${limits.maxEntries} JSON files`);
      const { size } = await lstat(file);
      yield await readJsonFile(file, size, limits);
    }
  }
}

async function* readZip(path: string, limits: SourceLimits, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const fail = (e: unknown): never => {
    if (e instanceof AdvisoryDbError || (e as Error).name === 'AbortError') throw e;
    throw new AdvisoryDbError(`${path} is not a readable zip archive: ${(e as Error).message}`, { cause: e });
  };
  const zip = await yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }).catch(fail);
  try {
    if (zip.entryCount > limits.maxEntries) throw new AdvisoryDbError(`${path} holds ${zip.entryCount} entries, more than ${limits.maxEntries}`);
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      const source = `${path}:${entry.fileName}`;
      if (entry.fileName.endsWith('/') || !entry.fileName.endsWith('.json')) continue;
      if (entry.isEncrypted()) {
        yield { source, skipped: 'encrypted zip entry' };
        continue;
      }
      if (entry.uncompressedSize > limits.maxRecordBytes) {
        yield { source, skipped: `larger than ${limits.maxRecordBytes} bytes` };
        continue;
      }
      const stream = await zip.openReadStreamPromise(entry);
      yield { source, bytes: await readBounded(stream, limits.maxRecordBytes, source) };
    }
  } catch (e) {
    fail(e);
  } finally {
    zip.close();
  }
}
