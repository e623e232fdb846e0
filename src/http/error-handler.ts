import { isRegistryError, RegistryError, unknownError } from '../errors/registry-error.js';
import type { Ctx } from './context.js';

/**
 * The one place RegistryErrors become the spec's error body
 * (distribution-spec "Error Codes"): {"errors":[{"code","message","detail"}]}.
 * Anything else is logged with the request id and answered as UNKNOWN.
 */
export function sendError(ctx: Ctx, err: unknown): void {
  let e: RegistryError;
  if (isRegistryError(err)) {
    e = err;
    if (e.code === 'UNKNOWN' || e.code === 'UNAVAILABLE') ctx.log.error({ err: e.cause ?? e }, e.message);
  } else {
    ctx.log.error({ err }, 'unexpected error');
    e = unknownError(err);
  }
  const { res } = ctx;
  if (res.headersSent) {
    // Too late for an error body: cut the response so the client sees a failure, not a short success.
    res.destroy();
    return;
  }
  const entry: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.detail !== undefined) entry.detail = e.detail;
  const body = JSON.stringify({ errors: [entry] });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  };
  // An unread request body would be parsed as the next request: close instead.
  if (!ctx.req.complete) headers.Connection = 'close';
  res.writeHead(e.status, headers);
  res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export const routeNotFound = () => new RegistryError('UNSUPPORTED', 'no such endpoint', { status: 404 });
export const methodNotAllowed = (allowed: string[]) =>
  new RegistryError('UNSUPPORTED', `method not allowed here; allowed: ${allowed.join(', ')}`, {
    detail: { allowed },
    status: 405,
  });
