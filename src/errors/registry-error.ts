/**
 * The error catalogue: every code berth answers with, its HTTP status and the
 * spec's description. Under /v2/ only the OCI distribution-spec codes are used
 * (distribution-spec v1.1 "Error Codes"), plus UNKNOWN/UNAVAILABLE and
 * TAG_INVALID and RANGE_INVALID from the Docker Registry HTTP API v2 that
 * clients also understand.
 */
export const ERROR_CATALOGUE = {
  BLOB_UNKNOWN: { status: 404, description: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, description: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, description: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, description: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, description: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, description: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, description: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, description: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, description: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, description: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, description: 'manifest tag did not match URI or is not a valid tag' },
  RANGE_INVALID: { status: 416, description: 'requested range not satisfiable' },
  UNAUTHORIZED: { status: 401, description: 'authentication required' },
  DENIED: { status: 403, description: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, description: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, description: 'too many requests' },
  UNKNOWN: { status: 500, description: 'unknown error' },
  UNAVAILABLE: { status: 503, description: 'service unavailable' },
  // Management API (/api/v1) only; never sent under /v2/.
  POLICY_INVALID: { status: 400, description: 'policy or settings document invalid' },
  NOT_FOUND: { status: 404, description: 'not found' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** JSON-safe detail attached to an error body. */
export type ErrorDetail = string | number | boolean | null | ErrorDetail[] | { [k: string]: ErrorDetail };

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: ErrorDetail | undefined;
  /** Overrides the catalogue status where the spec asks for another (413 for an oversized manifest). */
  readonly status: number;

  constructor(code: ErrorCode, message: string, opts: { detail?: ErrorDetail; cause?: unknown; status?: number } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.detail = opts.detail;
    this.status = opts.status ?? ERROR_CATALOGUE[code].status;
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}

// Named constructors read like the spec.
export const blobUnknown = (digest: string) =>
  new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`, { detail: { digest } });
export const blobUploadUnknown = (id: string) =>
  new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { detail: { uuid: id } });
export const blobUploadInvalid = (reason: string, status?: number) =>
  new RegistryError('BLOB_UPLOAD_INVALID', `blob upload invalid: ${reason}`, { status });
export const digestInvalid = (reason: string, detail?: ErrorDetail) =>
  new RegistryError('DIGEST_INVALID', `digest invalid: ${reason}`, { detail });
export const manifestBlobUnknown = (digest: string) =>
  new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blob or manifest ${digest}`, {
    detail: { digest },
  });
export const manifestInvalid = (reason: string, status?: number) =>
  new RegistryError('MANIFEST_INVALID', `manifest invalid: ${reason}`, { status });
export const manifestUnknown = (reference: string, detail?: ErrorDetail) =>
  new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${reference}`, { detail: detail ?? { reference } });
export const nameInvalid = (reason: string) =>
  new RegistryError('NAME_INVALID', `invalid repository name: ${reason}`);
export const nameUnknown = (name: string) =>
  new RegistryError('NAME_UNKNOWN', `repository name not known to registry: ${name}`, { detail: { name } });
export const sizeInvalid = (reason: string) => new RegistryError('SIZE_INVALID', `size invalid: ${reason}`);
export const tagInvalid = (reason: string) => new RegistryError('TAG_INVALID', `invalid tag: ${reason}`);
export const rangeInvalid = (reason: string, detail?: ErrorDetail) =>
  new RegistryError('RANGE_INVALID', `range invalid: ${reason}`, { detail });
export const denied = (reason: string, detail?: ErrorDetail) => new RegistryError('DENIED', reason, { detail });
/** DENIED with the numbers a user needs to act on ("quota exceeded: used X of Y"). */
export function quotaExceeded(
  project: string,
  q: { resource: 'bytes' | 'tags'; used: number; adding: number; limit: number },
): RegistryError {
  const unit = q.resource === 'bytes' ? ' bytes' : ' tags';
  return denied(
    `quota exceeded: used ${q.used}${unit} of ${q.limit}${unit} in project ${project}; this push adds ${q.adding}${unit}`,
    { project, resource: q.resource, used: q.used, limit: q.limit, adding: q.adding },
  );
}
export const policyInvalid = (reason: string, detail?: ErrorDetail) => new RegistryError('POLICY_INVALID', reason, { detail });
export const notFound = (what: string) => new RegistryError('NOT_FOUND', `${what} not found`);
export const unsupported = (reason: string) => new RegistryError('UNSUPPORTED', reason);
export const unavailable = (reason: string, cause?: unknown) =>
  new RegistryError('UNAVAILABLE', reason, { cause });
export const unknownError = (cause?: unknown) => new RegistryError('UNKNOWN', 'unknown error', { cause });
