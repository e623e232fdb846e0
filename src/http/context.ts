import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestAuth } from './auth/http-auth.js';

/** What a handler gets: the raw request/response, parsed query, route params and a per-request logger. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  params: Record<string, string>;
  log: Logger;
  /** Aborted when the client goes away; passed to every stream. */
  signal: AbortSignal;
  id: string;
  /** The authenticated caller, when access control is on. */
  auth?: RequestAuth;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export function sendJson(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : text);
}

export function sendEmpty(ctx: Ctx, status: number, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
  ctx.res.end();
}

/**
 * Reads a request body into memory, refusing more than `limit` bytes. An
 * oversized body is still read (and discarded) up to 4x the limit so the
 * client, still sending, receives the error instead of a reset connection
 * (RFC 9112 §9.6); beyond that the connection is closed.
 */
export async function readBody(ctx: Ctx, limit: number, onTooLarge: (size: number) => Error): Promise<Buffer> {
  const drainLimit = limit * 4;
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > drainLimit) throw onTooLarge(declared);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > drainLimit) break;
    if (size <= limit) parts.push(c as Buffer);
  }
  if (size > limit) throw onTooLarge(size);
  return Buffer.concat(parts);
}

/** True when the request carries a body (Content-Length > 0 or chunked transfer). */
export function hasBody(ctx: Ctx): boolean {
  const len = ctx.req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return ctx.req.headers['transfer-encoding'] !== undefined;
}
