/** PEM (RFC 7468) as Go's encoding/pem reads and writes it. */
import { CosignKeyError } from './errors.js';

export interface PemBlock {
  type: string;
  der: Buffer;
}

/** Key and certificate files are small; anything larger is refused before any parsing. */
export const MAX_PEM_BYTES = 256 * 1024;
const MAX_BLOCKS = 16;
const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block of the text, in order (at most 16). Throws CosignKeyError when the input is too
 * large, holds no block, or a block has RFC 1421 headers (OpenSSL's legacy encrypted PEM) or a body
 * that is not base64.
 */
export function pemBlocks(input: string | Uint8Array): PemBlock[] {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (text.length > MAX_PEM_BYTES) throw new CosignKeyError(`PEM input is larger than ${MAX_PEM_BYTES} bytes`);
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (blocks.length === MAX_BLOCKS) throw new CosignKeyError(`more than ${MAX_BLOCKS} PEM blocks`);
    const [, type = '', body = ''] = m;
    if (body.includes(':')) throw new CosignKeyError(`PEM block "${type}" has headers (legacy encrypted PEM is not supported)`);
    const compact = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new CosignKeyError(`PEM block "${type}" is not base64`);
    blocks.push({ type, der: Buffer.from(compact, 'base64') });
  }
  if (blocks.length === 0) throw new CosignKeyError('no PEM block found');
  return blocks;
}

/** A PEM block exactly as Go's pem.EncodeToMemory writes it: 64-character lines, trailing newline. */
export function pemEncode(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.map((l) => l + '\n').join('')}-----END ${type}-----\n`;
}
