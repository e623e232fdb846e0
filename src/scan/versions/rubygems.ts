/*
 * RubyGems versions, as Gem::Version (lib/rubygems/version.rb, RubyGems 3.x)
 * reads and orders them.
 *
 * Valid: digits, then dot-separated runs of ASCII letters and digits, then
 * optionally SemVer-style hyphenated identifiers (VERSION_PATTERN). Every
 * hyphen reads as `.pre.` (`1.0.0-beta.1` is `1.0.0.pre.beta.1`).
 *
 * The version splits into segments, runs of digits and runs of letters
 * (`1.0.a10` is 1, 0, a, 10). A version with a letter is a pre-release: its
 * segments up to the first letter segment are the release part, the rest the
 * pre-release part. Trailing zeros are dropped from each part (`1.0` equals
 * `1`, `1.0.a.0` equals `1.a`). Segments then compare pairwise, a missing
 * segment counting as 0: numbers numerically, letters as text (ASCII, so
 * upper case sorts first), a letter segment below any number.
 *
 * RubyGems' development branch has since changed hyphens followed by a letter
 * to read as `.` and skips a `pre` segment before a letter segment; released
 * RubyGems (verified against 3.3.15) orders as described here.
 */

const VERSION_PATTERN = /^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** A run of digits (leading zeros dropped) or the text of a run of letters. */
type Segment = { digits: string } | string;

const ZERO: Segment = { digits: '0' };
const isZero = (s: Segment): boolean => typeof s !== 'string' && s.digits === '0';

function dropTrailingZeros(part: Segment[]): Segment[] {
  let end = part.length;
  while (end > 0 && isZero(part[end - 1] as Segment)) end--;
  return part.slice(0, end);
}

/** Gem::Version#canonical_segments, after `-` became `.pre.`. */
function canonicalSegments(version: string): Segment[] {
  const segments: Segment[] = (version.replace(/-/g, '.pre.').match(/[0-9]+|[a-zA-Z]+/g) ?? []).map((s) =>
    /^[0-9]/.test(s) ? { digits: s.replace(/^0+/, '') || '0' } : s,
  );
  const firstLetters = segments.findIndex((s) => typeof s === 'string');
  const split = firstLetters < 0 ? segments.length : firstLetters;
  return [...dropTrailingZeros(segments.slice(0, split)), ...dropTrailingZeros(segments.slice(split))];
}

function compareSegments(a: Segment, b: Segment): number {
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a !== 'string') return 1;
    if (typeof b !== 'string') return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (a.digits.length !== b.digits.length) return a.digits.length < b.digits.length ? -1 : 1;
  return a.digits < b.digits ? -1 : a.digits > b.digits ? 1 : 0;
}

/** Orders two RubyGems versions as Gem::Version#<=>. Only for versions rubygemsVersionProblem accepts. */
export function compareRubygemsVersions(a: string, b: string): number {
  if (a === b) return 0;
  const ls = canonicalSegments(a);
  const rs = canonicalSegments(b);
  for (let i = 0; i < ls.length || i < rs.length; i++) {
    const r = compareSegments(ls[i] ?? ZERO, rs[i] ?? ZERO);
    if (r !== 0) return r;
  }
  return 0;
}

/** Why `v` is not a RubyGems version (Gem::Version::VERSION_PATTERN), or undefined. Never throws. */
export function rubygemsVersionProblem(v: string): string | undefined {
  return VERSION_PATTERN.test(v) ? undefined : 'is not a RubyGems version: digits, then .segments of letters and digits, then optional -identifiers';
}
