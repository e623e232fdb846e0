/*
 * Alpine package versions, as apk-tools (src/version.c) reads them:
 *
 *   digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rdigits}
 *
 * A version is a sequence of tokens, each allowed only after certain others:
 * the first run of digits; `.digits` (after digits); one lowercase letter
 * (after digits); `_suffix` with an optional number (after the letter, digits
 * or another suffix), the suffix being one of alpha, beta, pre, rc (before a
 * release) or cvs, svn, git, hg, p (after it); `~` and lowercase hex digits (a
 * commit hash, once); `-r` and digits (the package revision, last).
 *
 * Two versions compare token by token while both have a token of the same
 * kind: numbers numerically (as apk's unsigned 64-bit integers), except a
 * `.digits` run starting with '0' on either side, which compares as text;
 * letters, suffixes (in the order above) and hashes by value. When one side
 * runs out or changes kind first: a pre-release suffix (alpha..rc) sorts
 * lowest, then the token kind later in the grammar sorts lower, and ending
 * (or an invalid token) sorts below any other token.
 */

const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

/** Suffix ranks; index 5 ("") is the release itself. */
const SUFFIXES = ['', 'alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
const SUFFIX_NONE = 5;

interface Token {
  type: number;
  /** The token's text: digits, the letter, the suffix word or the hash. */
  value: string;
  /** Rank in SUFFIXES for a SUFFIX token. */
  suffix: number;
  /** Where the next token starts. */
  end: number;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isHex = (c: string | undefined): boolean => isDigit(c) || (c !== undefined && c >= 'a' && c <= 'f');

function span(s: string, from: number, accept: (c: string | undefined) => boolean): number {
  let i = from;
  while (i < s.length && accept(s[i])) i++;
  return i;
}

function token(type: number, s: string, start: number, end: number, suffix = 0): Token {
  return { type: end === start && type !== END ? INVALID : type, value: s.slice(start, end), suffix, end };
}

function firstToken(s: string): Token {
  return token(INITIAL_DIGIT, s, 0, span(s, 0, isDigit));
}

/** The token after `prev`; INVALID when the grammar does not allow what follows. */
function nextToken(s: string, prev: Token): Token {
  const p = prev.end;
  const invalid: Token = { type: INVALID, value: '', suffix: 0, end: p };
  if (p >= s.length) return token(END, s, p, p);
  const c = s[p];
  if (isLower(c)) return prev.type > DIGIT ? invalid : token(LETTER, s, p, p + 1);
  if (c === '.' || isDigit(c)) {
    if (c === '.' && prev.type > DIGIT) return invalid;
    const type = prev.type <= DIGIT ? DIGIT : prev.type === SUFFIX ? SUFFIX_NO : INVALID;
    const start = c === '.' ? p + 1 : p;
    return type === INVALID ? invalid : token(type, s, start, span(s, start, isDigit));
  }
  if (c === '_') {
    if (prev.type > SUFFIX_NO) return invalid;
    const end = span(s, p + 1, isLower);
    const word = s.slice(p + 1, end);
    const rank = word === '' ? -1 : SUFFIXES.indexOf(word);
    return rank <= 0 ? invalid : token(SUFFIX, s, p + 1, end, rank);
  }
  if (c === '~') {
    if (prev.type >= COMMIT_HASH) return invalid;
    return token(COMMIT_HASH, s, p + 1, span(s, p + 1, isHex));
  }
  if (c === '-') {
    if (prev.type >= REVISION_NO || s[p + 1] !== 'r') return invalid;
    return token(REVISION_NO, s, p + 2, span(s, p + 2, isDigit));
  }
  return invalid;
}

/** apk reads numbers into an unsigned 64-bit integer, wrapping on overflow. */
const uint64 = (digits: string): bigint => BigInt.asUintN(64, BigInt(digits));

/** Byte order, then the shorter first (apk_blob_sort). */
const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareTokens(a: Token, b: Token): number {
  switch (a.type) {
    case DIGIT:
      if (a.value.startsWith('0') || b.value.startsWith('0')) return textOrder(a.value, b.value);
    // falls through: numeric comparison
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO: {
      const x = uint64(a.value);
      const y = uint64(b.value);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case SUFFIX:
      return Math.sign(a.suffix - b.suffix);
    default: // LETTER, COMMIT_HASH
      return textOrder(a.value, b.value);
  }
}

/**
 * Orders two apk versions as apk-tools does. Total over all strings: an
 * invalid tail ends the comparison like apk's own (which is why apk-tools'
 * vectors can compare `23_foo` and `1.0bc`). Linear: every token consumes input.
 */
export function compareApkVersions(a: string, b: string): number {
  let ta = firstToken(a);
  let tb = firstToken(b);
  while (ta.type === tb.type && ta.type < END) {
    const r = compareTokens(ta, tb);
    if (r !== 0) return r;
    ta = nextToken(a, ta);
    tb = nextToken(b, tb);
  }
  if (ta.type === tb.type) return 0;
  if (ta.type === SUFFIX && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.type === SUFFIX && tb.suffix < SUFFIX_NONE) return 1;
  return ta.type > tb.type ? -1 : 1;
}

/** Why apk-tools would not accept `v` (apk_version_validate), naming the first bad position; undefined when valid. Never throws. */
export function apkVersionProblem(v: string): string | undefined {
  let t = firstToken(v);
  while (t.type < END) t = nextToken(v, t);
  if (t.type === END) return undefined;
  const at = t.end < v.length ? `unexpected ${JSON.stringify(v.slice(t.end, t.end + 8))} at offset ${t.end}` : 'incomplete at the end';
  return `${at}; the grammar is digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rdigits}`;
}
