/*
 * Deterministic content for the scan benchmark's images: pseudo-random
 * choices (mulberry32), incompressible bytes (AES-128-CTR over zeros, like
 * binaries and compressed assets) and compressible text (slices of a pool of
 * source-like lines, like code, docs and licences), and gzipped tar layers
 * streamed to a file with tar-stream.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

/** Fixed mtime: the same options give the same layer bytes. */
const MTIME = new Date(1_700_000_000_000);
const TEXT_POOL_BYTES = 8 * 1024 * 1024;
const WORDS = (
  'the a of to in is for on with as by at from that this it be or are not and if else return const let var function ' +
  'static void int char struct include define error value config path file data string buffer size length index node ' +
  'list map key type name version package license copyright permission software warranty provided without any ' +
  'module export import class new this self def print true false null none undefined while break continue switch case'
).split(' ');

/** Pseudo-random numbers in [0, 1) from a 32-bit seed (mulberry32). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(0, list.length)] as T;
  }
}

/** File bodies: incompressible bytes and compressible text, both reproducible from `seed`. */
export class Content {
  readonly rng: Rng;
  private readonly cipher;
  private readonly pool: Buffer;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    const key = createHash('sha256').update(`berth scan bench ${seed}`).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    const lines: string[] = [];
    let size = 0;
    while (size < TEXT_POOL_BYTES) {
      const words = Array.from({ length: this.rng.int(3, 14) }, () => this.rng.pick(WORDS));
      const line = ' '.repeat(this.rng.int(0, 4) * 2) + words.join(' ') + (this.rng.next() < 0.3 ? ';' : '') + '\n';
      lines.push(line);
      size += line.length;
    }
    this.pool = Buffer.from(lines.join(''), 'latin1');
  }

  /** `n` incompressible bytes. */
  random(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }

  /** `n` bytes of text (a slice of the pool, repeated past its end). */
  text(n: number): Buffer {
    if (n <= this.pool.length) {
      const at = this.rng.int(0, this.pool.length - n + 1);
      return this.pool.subarray(at, at + n);
    }
    return Buffer.concat(Array.from({ length: Math.ceil(n / this.pool.length) }, () => this.pool)).subarray(0, n);
  }
}

/** One tar entry: a file (with a body), a directory or a symlink. */
export interface TarItem {
  name: string;
  type?: 'file' | 'directory' | 'symlink';
  body?: Buffer;
  linkname?: string;
}

/**
 * Writes `items` as a gzipped tar (ustar, pax headers where needed) to
 * `file`, waiting for each entry to be taken so memory holds few bodies.
 * Returns the number of entries. Throws what the file system or tar-stream throws.
 */
export async function writeGzipTar(file: string, items: Iterable<TarItem>): Promise<number> {
  const p = pack();
  const done = pipeline(p, createGzip(), createWriteStream(file));
  let entries = 0;
  try {
    for (const item of items) {
      const type = item.type ?? 'file';
      const header = { name: item.name, type, linkname: item.linkname, mode: type === 'file' ? 0o644 : 0o755, mtime: MTIME, uid: 0, gid: 0 };
      await new Promise<void>((resolve, reject) => {
        const cb = (err?: Error | null) => (err ? reject(err) : resolve());
        if (type === 'file') p.entry(header, item.body ?? Buffer.alloc(0), cb);
        else p.entry(header, cb);
      });
      entries++;
    }
    p.finalize();
  } catch (e) {
    p.destroy(e as Error);
  }
  await done;
  return entries;
}
