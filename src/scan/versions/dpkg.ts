/*
 * Debian versions, deb-version(7): [epoch:]upstream_version[-debian_revision].
 *
 * The epoch is the number before the first ':' (0 when absent); the revision
 * is what follows the last '-' (empty when absent). Epochs compare as
 * numbers; upstream versions, then revisions, compare left to right in
 * alternating runs: a run of non-digits character by character, where '~'
 * sorts before everything (even the end of the string), then the end, then
 * letters, then every other character; then a run of digits as a number
 * (leading zeros ignored, any length).
 *
 * Validity follows what `dpkg --compare-versions` refuses (parseversion's
 * errors): empty parts, a bad or too big epoch, an empty revision after '-'.
 * What dpkg only warns about and still compares (an upstream version not
 * starting with a digit, characters outside deb-version's sets) is accepted,
 * except non-ASCII characters: dpkg orders bytes and would need the UTF-8
 * encoding to be reproduced.
 */

/** dpkg keeps the epoch in an int. */
const MAX_EPOCH = 2 ** 31 - 1;

interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i); // NaN past the end
  return c >= 0x30 && c <= 0x39;
}

/** Splits at the first ':' (when all digits precede it) and the last '-'. Never throws; compares even versions dpkg refuses. */
function split(v: string): DebVersion {
  const m = /^(\d+):/.exec(v);
  const rest = m ? v.slice(m[0].length) : v;
  const hyphen = rest.lastIndexOf('-');
  return {
    epoch: m ? Number(m[1]) : 0,
    upstream: hyphen < 0 ? rest : rest.slice(0, hyphen),
    revision: hyphen < 0 ? '' : rest.slice(hyphen + 1),
  };
}

/** A character's weight in a non-digit run: '~' < end (and digits) < letters < everything else. */
function order(s: string, i: number): number {
  if (i >= s.length || isDigit(s, i)) return 0;
  const c = s.charCodeAt(i);
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

/** Upstream versions or revisions, deb-version(7)'s algorithm. Every step advances i or j. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a, i)) || (j < b.length && !isDigit(b, j))) {
      const d = order(a, i) - order(b, j);
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a, i) && isDigit(b, j)) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a, i)) return 1;
    if (isDigit(b, j)) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Orders two Debian versions as dpkg does. Total over all strings (refused versions compare as dpkg's Perl Dpkg::Version would). */
export function compareDpkgVersions(a: string, b: string): number {
  const x = split(a);
  const y = split(b);
  return Math.sign(x.epoch - y.epoch) || Math.sign(compareParts(x.upstream, y.upstream)) || Math.sign(compareParts(x.revision, y.revision));
}

/** Why dpkg refuses `v` as a version (lib/dpkg/parsehelp.c parseversion's errors), or undefined. Never throws. */
export function dpkgVersionProblem(v: string): string | undefined {
  if (/[^\x21-\x7e]/.test(v)) return 'has a character outside printable ASCII';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const epoch = v.slice(0, colon);
    if (epoch === '') return 'the epoch is empty';
    if (!/^\d+$/.test(epoch)) return 'the epoch is not a number';
    if (epoch.replace(/^0+/, '').length > 10 || Number(epoch) > MAX_EPOCH) return 'the epoch is too big';
    rest = v.slice(colon + 1);
    if (rest === '') return 'nothing follows the epoch';
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0 && hyphen === rest.length - 1) return 'the revision is empty';
  if (hyphen === 0) return 'the upstream version is empty';
  return undefined;
}
