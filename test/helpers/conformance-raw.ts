/**
 * Raw TCP exchanges for the OCI conformance suite: requests no well-behaved
 * HTTP client would send (Content-Length lies, garbage, half-closed bodies).
 */
import { connect } from 'node:net';
import { makeReply, type Reply } from './conformance-client.js';

export interface RawResponse {
  /** Status code of the first response, or undefined when the server sent nothing. */
  status?: number;
  /** Everything the server sent (latin1). */
  raw: string;
  /** Header block of the first response, lower-cased names. */
  headers: Record<string, string>;
  /** Body of the first response (Content-Length or chunked), best effort. */
  body: string;
}

/**
 * Writes `data` to a fresh TCP connection to 127.0.0.1:port and collects what
 * comes back until the server closes, or `timeoutMs` passes (then the socket is
 * destroyed). With `halfClose`, the write side is ended after `data`.
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  opts: { halfClose?: boolean; timeoutMs?: number; firstResponseOnly?: boolean } = {},
): Promise<RawResponse> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const sock = connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseRaw(Buffer.concat(parts).toString('latin1')));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (c: Buffer) => {
      parts.push(c);
      if (opts.firstResponseOnly && firstResponseComplete(Buffer.concat(parts).toString('latin1'))) finish();
    });
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', () => {
      sock.write(data);
      if (opts.halfClose) sock.end();
    });
  });
}

/** True once `raw` holds a whole response with a Content-Length body. */
function firstResponseComplete(raw: string): boolean {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, split + 2));
  return m !== null && raw.length - (split + 4) >= Number(m[1]);
}

function parseRaw(raw: string): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  const headers: Record<string, string> = {};
  let body = '';
  const split = raw.indexOf('\r\n\r\n');
  if (split >= 0) {
    for (const line of raw.slice(0, split).split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const rest = raw.slice(split + 4);
    if (headers['content-length'] !== undefined) {
      body = rest.slice(0, Number(headers['content-length']));
    } else if ((headers['transfer-encoding'] ?? '').toLowerCase() === 'chunked') {
      let i = 0;
      for (let n = 0; n < 10_000; n++) {
        const eol = rest.indexOf('\r\n', i);
        if (eol < 0) break;
        const len = parseInt(rest.slice(i, eol), 16);
        if (!Number.isFinite(len) || len === 0) break;
        body += rest.slice(eol + 2, eol + 2 + len);
        i = eol + 2 + len + 2;
      }
    } else {
      body = rest;
    }
  }
  return { status: m ? Number(m[1]) : undefined, raw, headers, body };
}

/** Turns a raw response into a Reply (for expectError). */
export function rawToReply(r: RawResponse): Reply {
  return makeReply(r.status ?? 0, r.headers, Buffer.from(r.body, 'latin1'));
}
