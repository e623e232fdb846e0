/*
 * JSON written byte for byte as cosign's Go code writes it, so that what berth signs and pushes is
 * what cosign itself would have produced (signatures cover exact bytes; manifests are addressed by
 * their digest).
 *
 * Two Go encoders matter:
 *  - encoding/json `json.Marshal` (simple signing payloads, DSSE envelopes, OCI manifests, image
 *    configs, encrypted keys): struct fields in declaration order, map keys sorted by their bytes,
 *    `<` `>` `&` U+2028 U+2029 escaped as \u003c \u003e \u0026 \u2028 \u2029, control characters
 *    as \b \f \n \r \t or \u00XX (Go 1.22+), numbers as strconv 'f' or, below 1e-6 and from 1e21
 *    on, 'e' with the exponent's leading zero removed (the same text as JavaScript's Number
 *    formatting, except -0).
 *  - google.golang.org/protobuf `protojson` (Sigstore bundles, cosign 3's in-toto statements):
 *    fields in .proto order, map keys sorted, no HTML escaping. protojson deliberately inserts a
 *    random space after some separators (its output is documented as unstable); berth writes the
 *    compact form, which every protojson reader accepts.
 *
 * Structs are plain objects (insertion order, `undefined` fields omitted like `omitempty`); maps
 * are GoMap. A parsed JSON document can be turned into maps with `goMapsOf` (what Go does when it
 * unmarshals into `map[string]interface{}`).
 */
import { CosignFormatError } from './errors.js';

export type GoValue = null | boolean | number | string | GoValue[] | GoMap | GoStruct;
export interface GoStruct {
  readonly [field: string]: GoValue | undefined;
}

/** A Go map: written with its keys sorted by their UTF-8 bytes. */
export class GoMap {
  readonly entries: ReadonlyArray<readonly [string, GoValue]>;

  constructor(entries: Iterable<readonly [string, GoValue]>) {
    this.entries = [...entries].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  }

  static of(record: Readonly<Record<string, string>>): GoMap {
    return new GoMap(Object.entries(record));
  }
}

/** Nesting limit for documents converted from untrusted input (Go's own decoder stops at 10000). */
const MAX_DEPTH = 128;

/** Converts parsed JSON into Go values, every object becoming a map; throws CosignFormatError when nested too deeply. */
export function goMapsOf(value: unknown, depth = 0): GoValue {
  if (depth > MAX_DEPTH) throw new CosignFormatError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => goMapsOf(v, depth + 1));
  if (typeof value === 'object') {
    return new GoMap(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, goMapsOf(v, depth + 1)] as const));
  }
  throw new CosignFormatError(`not a JSON value: ${typeof value}`);
}

export interface GoJsonStyle {
  /** encoding/json escapes HTML characters and U+2028/U+2029; protojson does not. */
  escapeHtml: boolean;
}

const ENCODING_JSON: GoJsonStyle = { escapeHtml: true };
const PROTOJSON: GoJsonStyle = { escapeHtml: false };

/** The bytes Go's `json.Marshal` writes for this value. Throws CosignFormatError for NaN/Infinity. */
export function goJson(value: GoValue): Buffer {
  return Buffer.from(encode(value, ENCODING_JSON, 0), 'utf8');
}

/** The bytes protojson writes for this message, without protojson's random spaces. */
export function protoJson(value: GoValue): Buffer {
  return Buffer.from(encode(value, PROTOJSON, 0), 'utf8');
}

function encode(value: GoValue, style: GoJsonStyle, depth: number): string {
  if (depth > MAX_DEPTH) throw new CosignFormatError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return encodeNumber(value);
  if (typeof value === 'string') return encodeString(value, style);
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, style, depth + 1)).join(',')}]`;
  const entries = value instanceof GoMap ? value.entries : Object.entries(value).filter((e): e is [string, GoValue] => e[1] !== undefined);
  return `{${entries.map(([k, v]) => `${encodeString(k, style)}:${encode(v, style, depth + 1)}`).join(',')}}`;
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new CosignFormatError(`JSON cannot hold the number ${n}`);
  return Object.is(n, -0) ? '-0' : String(n);
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function encodeString(s: string, style: GoJsonStyle): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (cp < 0x20) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd'; // a lone surrogate is invalid UTF-8 to Go
    else if (style.escapeHtml && (ch === '<' || ch === '>' || ch === '&' || cp === 0x2028 || cp === 0x2029)) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}
