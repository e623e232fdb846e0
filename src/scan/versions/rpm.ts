/*
 * RPM versions: [epoch:]version[-release], ordered as rpm's rpmverCmp does
 * (rpmio/rpmver.c): epochs (absent = 0), then versions, then releases (an
 * absent release sorts before any release), each with rpmvercmp
 * (rpmio/rpmvercmp.cc):
 *
 *   - characters other than ASCII letters, digits, '~' and '^' only separate
 *     segments (so `2.0` equals `2_0`);
 *   - '~' sorts before everything, the end of the string included
 *     (`1.0~rc1` < `1.0`);
 *   - '^' sorts after the end of the string but before anything else
 *     (`1.0` < `1.0^git1` < `1.0.1`);
 *   - otherwise the next run of digits or of letters is compared: numbers
 *     numerically (any length), letters as text, and a number is newer than
 *     letters;
 *   - when everything compared equal, the version with characters left wins.
 *
 * Validity: an optional all-digit epoch, then version and optional release
 * made of the characters rpmbuild allows in them (letters, digits, . _ + % { } ~ ^).
 */

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** rpm's rpmvercmp on one version or release string. Every loop step consumes input. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;

    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;

    const numeric = isDigit(a[i]);
    const inSegment = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inSegment(a[ei])) ei++;
    while (ej < b.length && inSegment(b[ej])) ej++;
    // b has a segment of the other kind here: a number is newer than letters.
    if (ej === j) return numeric ? 1 : -1;

    let x = a.slice(i, ei);
    let y = b.slice(j, ej);
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    const rc = textOrder(x, y);
    if (rc !== 0) return rc;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

interface Evr {
  epoch: string;
  version: string;
  release: string | undefined;
}

/** rpm's parseEVR: leading digits followed by ':' are the epoch (empty means 0), the text after the last '-' the release. */
function parseEvr(evr: string): Evr {
  const m = /^(\d*):/.exec(evr);
  const rest = m ? evr.slice(m[0].length) : evr;
  const hyphen = rest.lastIndexOf('-');
  return {
    epoch: m?.[1] || '0',
    version: hyphen < 0 ? rest : rest.slice(0, hyphen),
    release: hyphen < 0 ? undefined : rest.slice(hyphen + 1),
  };
}

/** Orders two [epoch:]version[-release] strings as rpm does (rpmverCmp). Total over all strings. */
export function compareRpmVersions(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  return (
    rpmvercmp(x.epoch, y.epoch) ||
    rpmvercmp(x.version, y.version) ||
    (x.release === undefined || y.release === undefined
      ? Number(x.release !== undefined) - Number(y.release !== undefined)
      : rpmvercmp(x.release, y.release))
  );
}

const EVR = /^(?:\d+:)?[A-Za-z0-9._+%{}~^]+(?:-[A-Za-z0-9._+%{}~^]+)?$/;

/** Why `v` is not an [epoch:]version[-release] string, or undefined. Never throws. */
export function rpmVersionProblem(v: string): string | undefined {
  return EVR.test(v) ? undefined : 'is not [epoch:]version[-release] (epoch digits; version and release of letters, digits and . _ + % { } ~ ^)';
}
