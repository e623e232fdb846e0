import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat, readdir, unlink, access } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { StorageNotFoundError, StorageOffsetError, type StorageDriver } from '../storage-driver.js';

/**
 * Filesystem driver: objects are files under `root`. Atomicity comes from
 * write-to-temp + fsync + rename + fsync(dir), so a crash leaves either the old
 * state or the new one, never a partial file under a final name.
 */
export class FilesystemDriver implements StorageDriver {
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = join(root, '_tmp');
  }

  /**
   * Creates the root and removes temp files left by a crash. Only files older
   * than `staleTmpMs` go: another process sharing the root may be writing the
   * younger ones right now.
   */
  async init(staleTmpMs = 3600_000): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    const cutoff = Date.now() - staleTmpMs;
    for (const f of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, f);
      const s = await stat(p).catch(() => undefined);
      if (s && s.mtimeMs < cutoff) await rm(p, { force: true, recursive: true });
    }
  }

  private path(key: string): string {
    if (key.includes('..') || key.startsWith('/') || key.includes('\\')) throw new Error(`invalid storage key ${key}`);
    return join(this.root, ...key.split('/'));
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { size: s.size } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async read(key: string, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const p = this.path(key);
    // Open first so a missing file is a clean error, not a stream 'error' later.
    let fh: FileHandle;
    try {
      fh = await open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(key);
      throw e;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new StorageNotFoundError(key);
    }
    return createReadStream('', {
      fd: fh,
      start: opts.start,
      end: opts.end,
      signal: opts.signal,
      highWaterMark: 1024 * 1024,
    });
  }

  async put(key: string, body: Readable | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const final = this.path(key);
    const tmp = join(this.tmpDir, randomUUID());
    try {
      const fh = await open(tmp, 'w');
      try {
        if (body instanceof Uint8Array) await fh.writeFile(body);
        else await writeAll(fh, body, 0, opts.signal);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await mkdir(dirname(final), { recursive: true });
      await rename(tmp, final);
      await syncDir(dirname(final));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async append(key: string, body: Readable, offset: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    let fh: FileHandle;
    try {
      fh = await open(p, offset === 0 ? fsConstants.O_RDWR | fsConstants.O_CREAT : fsConstants.O_RDWR);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageOffsetError(key, offset, 0);
      throw e;
    }
    try {
      const { size } = await fh.stat();
      if (size !== offset) throw new StorageOffsetError(key, offset, size);
      try {
        await writeAll(fh, body, offset, opts.signal);
      } finally {
        await fh.sync();
      }
      return (await fh.stat()).size;
    } finally {
      await fh.close();
    }
  }

  async commit(from: string, to: string): Promise<void> {
    const src = this.path(from);
    const dst = this.path(to);
    if (await exists(dst)) {
      await rm(src, { force: true });
      return;
    }
    await mkdir(dirname(dst), { recursive: true });
    try {
      await rename(src, dst);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(from);
      throw e;
    }
    await syncDir(dirname(dst));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/$/, '') === '' ? this.root : this.path(prefix.replace(/\/$/, ''));
    const walk = async function* (dir: string, rel: string): AsyncGenerator<string> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const ent of entries) {
        const childRel = rel ? `${rel}/${ent.name}` : ent.name;
        if (ent.isDirectory()) yield* walk(join(dir, ent.name), childRel);
        else if (ent.isFile()) yield childRel;
      }
    };
    const keyPrefix = prefix.replace(/\/$/, '');
    for await (const rel of walk(base, '')) {
      const key = keyPrefix ? `${keyPrefix}/${rel}` : rel;
      if (!key.startsWith('_tmp/')) yield key;
    }
  }

  async ping(): Promise<void> {
    await access(this.root, fsConstants.R_OK | fsConstants.W_OK);
  }
}

/**
 * Writes a stream at `position` with positional writes; awaiting each write
 * is the backpressure. Small chunks are gathered so one writev carries at least 256 KiB.
 */
async function writeAll(fh: FileHandle, body: Readable, position: number, signal?: AbortSignal): Promise<number> {
  let pos = position;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Dirty pages are flushed in the background while more bytes arrive, so the
  // caller's final fsync only waits for the tail instead of the whole object.
  let flushing: Promise<void> | undefined;
  let unflushed = 0;
  const flush = async () => {
    // writev: the gathered chunks go to the kernel as they are, no concatenation copy.
    const bufs = pending;
    pending = [];
    pendingBytes = 0;
    for (let i = 0; i < 10_000 && bufs.length > 0; i++) {
      let { bytesWritten } = await fh.writev(bufs, pos);
      pos += bytesWritten;
      unflushed += bytesWritten;
      // A short write (rare: disk full, signals) continues with what is left.
      while (bufs.length > 0 && bytesWritten >= bufs[0]!.length) bytesWritten -= bufs.shift()!.length;
      if (bytesWritten > 0) bufs[0] = bufs[0]!.subarray(bytesWritten);
    }
    if (unflushed >= BACKGROUND_SYNC_BYTES && !flushing) {
      unflushed = 0;
      flushing = fh.datasync().finally(() => (flushing = undefined));
    }
  };
  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      const c = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      pending.push(c);
      pendingBytes += c.length;
      if (pendingBytes >= 256 * 1024) await flush();
    }
    if (pendingBytes > 0) await flush();
  } finally {
    await flushing?.catch(() => undefined);
  }
  return pos - position;
}

/** Written bytes after which a background fdatasync starts. */
const BACKGROUND_SYNC_BYTES = 16 * 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** fsync a directory so a rename into it survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir.endsWith(sep) ? dir : dir + sep, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function bufferToReadable(b: Uint8Array): Readable {
  return Readable.from([b]);
}
