import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AdvisoryDownloadError } from './errors.js';

/** Progress of one download, in bytes (total when the server said). */
export type DownloadProgress = (p: { done: number; total?: number }) => void;

export interface DownloadOptions {
  /** ETag of the copy already imported: sent as If-None-Match so an unchanged export is not fetched again. */
  etag?: string;
  /** Largest export accepted, in bytes. */
  maxBytes: number;
  signal?: AbortSignal;
  onProgress?: DownloadProgress;
}

export type DownloadResult = { status: 'not-modified' } | { status: 'downloaded'; etag?: string; bytes: number };

/** The transfer passed `maxBytes`: its partial file is useless and removed. */
class TooLargeError extends AdvisoryDownloadError {}

/** What a partial file was fetched from, so a resume asks for the same representation (RFC 9110 13.1.5 If-Range). */
interface PartialMeta {
  url: string;
  etag?: string;
  lastModified?: string;
}

async function readMeta(path: string): Promise<PartialMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, 'utf8')) as PartialMeta;
    return typeof meta.url === 'string' ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** `bytes 100-199/200` -> 100 (RFC 9110 14.4 Content-Range). */
function rangeStart(contentRange: string | null): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Downloads `url` to `dest`, resumably. Bytes arrive in `dest.partial`; when
 * a partial file exists from an earlier, cut attempt it is continued with
 * `Range` and `If-Range` (its ETag or Last-Modified), and restarted when the
 * server sends the whole representation instead. Only a complete file is
 * renamed to `dest`. Throws AdvisoryDownloadError when the server cannot be
 * reached, answers an error status, the transfer is cut (the partial file is
 * kept for the next call) or the export is larger than `maxBytes`.
 */
export async function downloadResumable(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const partial = `${dest}.partial`;
  const metaPath = `${partial}.json`;
  // Two attempts: a resume the server cannot satisfy (416) restarts from zero once.
  for (let attempt = 0; attempt < 2; attempt++) {
    const meta = await readMeta(metaPath);
    const have = meta && meta.url === url && (meta.etag || meta.lastModified) ? await fileSize(partial) : 0;
    const headers: Record<string, string> = {};
    if (have > 0 && meta) {
      headers['range'] = `bytes=${have}-`;
      headers['if-range'] = (meta.etag ?? meta.lastModified) as string;
    } else if (opts.etag) {
      headers['if-none-match'] = opts.etag;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: opts.signal, redirect: 'follow' });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new AdvisoryDownloadError(url, `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, { cause: e });
    }
    if (res.status === 304 && have === 0) {
      await res.body?.cancel();
      return { status: 'not-modified' };
    }
    if (res.status === 416) {
      await res.body?.cancel();
      await rm(partial, { force: true });
      await rm(metaPath, { force: true });
      continue;
    }
    const resumed = res.status === 206;
    if (res.status !== 200 && !resumed) {
      await res.body?.cancel();
      throw new AdvisoryDownloadError(url, `${url} answered ${res.status} ${res.statusText}`.trimEnd());
    }
    if (resumed && rangeStart(res.headers.get('content-range')) !== have) {
      await res.body?.cancel();
      throw new AdvisoryDownloadError(url, `${url} answered a range that does not continue the ${have} bytes already received`);
    }
    const etag = res.headers.get('etag') ?? undefined;
    if (!resumed) {
      const fresh: PartialMeta = { url, etag, lastModified: res.headers.get('last-modified') ?? undefined };
      await writeFile(metaPath, JSON.stringify(fresh));
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    const start = resumed ? have : 0;
    const total = Number.isFinite(length) ? start + length : undefined;
    if (total !== undefined && total > opts.maxBytes) {
      await res.body?.cancel();
      throw new AdvisoryDownloadError(url, `${url} is ${total} bytes, more than the ${opts.maxBytes} allowed`);
    }
    let bytes: number;
    try {
      bytes = await receive(res, partial, { append: resumed, start, total, url, ...opts });
    } catch (e) {
      if (e instanceof TooLargeError) await Promise.all([rm(partial, { force: true }), rm(metaPath, { force: true })]);
      throw e;
    }
    if (total !== undefined && bytes !== total) {
      throw new AdvisoryDownloadError(url, `download of ${url} ended after ${bytes} of ${total} bytes; the next update resumes it`);
    }
    await rename(partial, dest);
    await rm(metaPath, { force: true });
    return { status: 'downloaded', etag: etag ?? meta?.etag, bytes };
  }
  throw new AdvisoryDownloadError(url, `${url} cannot serve the partial download even after restarting it`);
}

/** Streams the body into `file`, counting and bounding the bytes; returns the file's size when done. */
async function receive(
  res: Response,
  file: string,
  o: DownloadOptions & { append: boolean; start: number; total?: number; url: string },
): Promise<number> {
  let done = o.start;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      if (done > o.maxBytes) return cb(new TooLargeError(o.url, `${o.url} is larger than the ${o.maxBytes} bytes allowed`));
      o.onProgress?.({ done, total: o.total });
      cb(null, chunk);
    },
  });
  if (!res.body) return done;
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, createWriteStream(file, { flags: o.append ? 'a' : 'w' }), {
      signal: o.signal,
    });
  } catch (e) {
    if (e instanceof AdvisoryDownloadError || (e as Error).name === 'AbortError') throw e;
    throw new AdvisoryDownloadError(o.url, `download of ${o.url} was cut after ${done} bytes (${(e as Error).message}); the next update resumes it`, {
      cause: e,
    });
  }
  return fileSize(file);
}
