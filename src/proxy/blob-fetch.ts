import { PassThrough, Readable } from 'node:stream';
import type { UpstreamBlob } from '../client/registry-client.js';

/** Bytes kept for clients that join a fetch after it started; beyond this they wait for the cached copy. */
const PREFIX_LIMIT = 16 * 1024 * 1024;

/**
 * One upstream blob transfer shared by every client that asks for the blob
 * meanwhile (request coalescing). The bytes go to `store` (an upload session:
 * hashed, staged, verified, committed, linked) and, as they arrive, to every
 * subscribed client. The last chunk is held back until `store` has verified
 * the digest: a client of a corrupt or truncated transfer never receives the
 * complete (wrong) body, its response is cut short instead.
 */
export class BlobFetch {
  /** Resolves with the upstream response (undefined: the upstream has no such blob). */
  readonly opened: Promise<UpstreamBlob | undefined>;
  /** Resolves with the size once the blob is cached and visible; undefined when the upstream has no such blob. */
  readonly done: Promise<number | undefined>;
  private readonly subscribers = new Set<PassThrough>();
  private prefix: Buffer[] = [];
  private prefixBytes = 0;
  private prefixKept = true;
  private held: Buffer | undefined;
  private finished = false;

  constructor(
    open: () => Promise<UpstreamBlob | undefined>,
    store: (body: Readable, size: number | undefined) => Promise<number>,
    /** Told the size of every chunk received from the upstream. */
    private readonly onBytes: (n: number) => void = () => undefined,
  ) {
    this.opened = open();
    this.done = this.run(store);
    // Failures reach whoever awaits `opened`/`done`; nobody may be waiting any more.
    this.opened.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /**
   * A stream of the blob from its first byte, or undefined when the fetch is
   * too far along to replay (or over): the caller then waits for `done` and
   * reads the cached copy.
   */
  subscribe(signal?: AbortSignal): Readable | undefined {
    if (!this.prefixKept || this.finished) return undefined;
    const out = new PassThrough();
    for (const chunk of this.prefix) out.write(chunk);
    this.subscribers.add(out);
    out.once('close', () => this.subscribers.delete(out));
    if (signal) {
      if (signal.aborted) out.destroy();
      else signal.addEventListener('abort', () => out.destroy(), { once: true });
    }
    return out;
  }

  private async run(store: (body: Readable, size: number | undefined) => Promise<number>): Promise<number | undefined> {
    let upstream: UpstreamBlob | undefined;
    try {
      upstream = await this.opened;
    } catch (e) {
      this.fail(e);
      throw e;
    }
    if (!upstream) {
      this.fail(new Error('the upstream has no such blob'));
      return undefined;
    }
    try {
      const size = await store(Readable.from(this.tee(upstream.body)), upstream.size);
      // Verified and visible: the held-back tail may go out now.
      if (this.held) await this.forward(this.held);
      this.finished = true;
      for (const s of this.subscribers) s.end();
      this.subscribers.clear();
      return size;
    } catch (e) {
      upstream.body.destroy();
      this.fail(e);
      throw e;
    }
  }

  private fail(e: unknown): void {
    this.finished = true;
    for (const s of this.subscribers) s.destroy(e instanceof Error ? e : new Error(String(e)));
    this.subscribers.clear();
    this.prefix = [];
  }

  /** Passes chunks to `store`, forwarding each to the clients one chunk later (the last waits for verification). */
  private async *tee(body: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
    for await (const c of body) {
      const chunk = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
      this.onBytes(chunk.length);
      if (this.held) await this.forward(this.held);
      this.held = chunk;
      yield chunk;
    }
  }

  private async forward(chunk: Buffer): Promise<void> {
    if (this.prefixKept) {
      this.prefix.push(chunk);
      this.prefixBytes += chunk.length;
      if (this.prefixBytes > PREFIX_LIMIT) {
        this.prefixKept = false;
        this.prefix = [];
      }
    }
    // A snapshot: a client subscribing while we wait below got this chunk from the prefix already.
    for (const s of [...this.subscribers]) {
      if (s.destroyed) continue;
      if (!s.write(chunk)) await drainedOrClosed(s);
    }
  }
}

/** Waits until a slow client has taken its buffered bytes, or went away. */
function drainedOrClosed(s: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
