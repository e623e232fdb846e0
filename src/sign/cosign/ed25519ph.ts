/*
 * Ed25519ph verification (RFC 8032 §5.1 with phflag = 1 and an empty context), which Node's crypto
 * does not offer. cosign signs with Ed25519ph by default (pkg/cosign/keys.go GetDefaultLoadOptions:
 * "Cosign uses ED25519ph by default for ED25519 keys"), so verifying its signatures needs it.
 * Only public values are handled here, so BigInt arithmetic (not constant time) is acceptable.
 *
 * Verification follows RFC 8032 §5.1.7: decode A and R (§5.1.3), require S < L, compute
 * k = SHA-512(dom2(1, "") || R || A || SHA-512(M)) mod L and check [8][S]B = [8]R + [8][k]A.
 */
import { createHash } from 'node:crypto';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const DOM2_PH = Buffer.concat([Buffer.from('SigEd25519 no Ed25519 collisions', 'latin1'), Buffer.from([1, 0])]);

type Point = readonly [bigint, bigint, bigint, bigint]; // extended coordinates X, Y, Z, T

const mod = (a: bigint): bigint => ((a % P) + P) % P;

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/** RFC 8032 §5.1.3; undefined when the 32 bytes are not a point encoding. */
function decodePoint(bytes: Uint8Array): Point | undefined {
  const copy = Uint8Array.from(bytes);
  const last = copy[31] ?? 0;
  const xSign = last >> 7;
  copy[31] = last & 0x7f;
  const y = littleEndian(copy);
  if (y >= P) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return undefined;
  if (x === 0n && xSign === 1) return undefined;
  if (Number(x & 1n) !== xSign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}

function add(p: Point, q: Point): Point {
  const a = mod((p[1] - p[0]) * (q[1] - q[0]));
  const b = mod((p[1] + p[0]) * (q[1] + q[0]));
  const c = mod(p[3] * 2n * D * q[3]);
  const d = mod(p[2] * 2n * q[2]);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(scalar: bigint, point: Point): Point {
  let result: Point = [0n, 1n, 1n, 0n];
  let addend = point;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

const equal = (p: Point, q: Point): boolean => mod(p[0] * q[2]) === mod(q[0] * p[2]) && mod(p[1] * q[2]) === mod(q[1] * p[2]);

const BASE = decodePoint(Buffer.from('5866666666666666666666666666666666666666666666666666666666666666', 'hex')) as Point;

/** True when `signature` is a valid Ed25519ph signature of `message` by the raw 32-byte public key. Never throws. */
export function verifyEd25519ph(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const A = decodePoint(publicKey);
  const rBytes = signature.subarray(0, 32);
  const R = decodePoint(rBytes);
  const S = littleEndian(signature.subarray(32));
  if (!A || !R || S >= L) return false;
  const prehash = createHash('sha512').update(message).digest();
  const k = littleEndian(createHash('sha512').update(DOM2_PH).update(rBytes).update(publicKey).update(prehash).digest()) % L;
  const left = multiply(8n, multiply(S, BASE));
  const right = multiply(8n, add(R, multiply(k, A)));
  return equal(left, right);
}
