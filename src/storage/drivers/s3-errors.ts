import { StorageNotFoundError, StorageOffsetError } from '../storage-driver.js';

/**
 * How S3 failures become StorageDriver failures. The SDK reports a service
 * error as an exception whose `name` is the S3 error code and whose
 * `$metadata.httpStatusCode` is the HTTP status; HEAD answers carry no body,
 * so only the status tells a missing key ("NotFound") from anything else.
 */
interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(e: unknown): SdkErrorShape {
  return typeof e === 'object' && e !== null ? (e as SdkErrorShape) : {};
}

export function httpStatusOf(e: unknown): number | undefined {
  return shape(e).$metadata?.httpStatusCode;
}

/** A missing key. NoSuchBucket / NoSuchUpload are also 404s but are configuration or protocol errors, not "missing". */
export function isNotFound(e: unknown): boolean {
  const { name } = shape(e);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  return httpStatusOf(e) === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload';
}

/** A failed If-None-Match / If-Match precondition (HTTP 412). */
export function isPreconditionFailed(e: unknown): boolean {
  return shape(e).name === 'PreconditionFailed' || httpStatusOf(e) === 412;
}

/** HTTP 416: the requested range starts past the end of the object. */
export function isInvalidRange(e: unknown): boolean {
  return shape(e).name === 'InvalidRange' || httpStatusOf(e) === 416;
}

export function isAbortError(e: unknown): boolean {
  return shape(e).name === 'AbortError';
}

/**
 * Rethrows `e` with the operation and key in its message (the original stays
 * as `cause`). Storage errors and aborts pass through unchanged: callers
 * branch on their types and on `name === 'AbortError'`.
 */
export function storageFailure(e: unknown, op: string, key: string): Error {
  if (e instanceof StorageNotFoundError || e instanceof StorageOffsetError || isAbortError(e)) return e as Error;
  const { name, message } = shape(e);
  const status = httpStatusOf(e);
  const what = [name, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ');
  return new Error(`s3 ${op} ${key} failed${what ? ` (${what})` : ''}: ${message ?? String(e)}`, { cause: e });
}

/** An AbortError like the ones node:stream and the SDK raise. */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason as unknown });
  err.name = 'AbortError';
  return err;
}

/** Upper bound on list pages (1000 keys each) any single listing walks: 100 million keys. */
export const MAX_LIST_PAGES = 100_000;
