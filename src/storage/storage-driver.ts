import type { Readable } from 'node:stream';

/**
 * Bytes by key. Keys are '/'-separated relative paths made by BlobStore only
 * (never from user input). Drivers translate their own failures into
 * StorageError; a missing key is `undefined` from stat and NotFound from read.
 */
export interface StorageDriver {
  /** Size of the object, or undefined when it does not exist. Never throws for a missing key. */
  stat(key: string): Promise<{ size: number } | undefined>;

  /**
   * Streams the object, or bytes [start, end] inclusive of it. Throws
   * StorageNotFoundError when missing. The stream is destroyed when `signal` aborts.
   */
  read(key: string, opts?: { start?: number; end?: number; signal?: AbortSignal }): Promise<Readable>;

  /**
   * Writes `body` under `key` atomically: readers see the whole object or
   * nothing, never a prefix. Durable (synced) when the promise resolves.
   */
  put(key: string, body: Readable | Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;

  /**
   * Appends `body` to a staging object that must currently hold exactly
   * `offset` bytes (0 creates it). Resolves with the new size once synced.
   * Throws StorageOffsetError when the object's size is not `offset`.
   * On failure the object holds its old bytes or more; the caller rereads
   * its size with stat.
   */
  append(key: string, body: Readable, offset: number, opts?: { signal?: AbortSignal }): Promise<number>;

  /**
   * Moves a staging object written by `append` to `to`, atomically and durably.
   * When `to` already exists the staging object is deleted instead (content
   * addressing makes them equal).
   */
  commit(from: string, to: string): Promise<void>;

  /** Deletes an object; deleting a missing key succeeds. */
  delete(key: string): Promise<void>;

  /** Lists keys under a prefix (recursively), in no particular order. */
  list(prefix: string): AsyncIterable<string>;

  /** Cheap round trip used by /readyz. Throws when the backend is unreachable. */
  ping(): Promise<void>;
}

export class StorageNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`storage object not found: ${key}`);
  }
}

export class StorageOffsetError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`staging object ${key} holds ${actual} bytes, not ${expected}`);
  }
}
