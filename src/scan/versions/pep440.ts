/*
 * Python package versions, PEP 440 ("Version specifiers", packaging.python.org),
 * through the `@renovatebot/pep440` package: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local],
 * with the spellings PEP 440 normalises (alpha, c, pre, preview, r, rev, -N,
 * upper case, a leading v). Ordering: epoch, release (trailing zeros
 * ignored), then dev < pre < release < post, and a local label above the
 * public version.
 *
 * Two limits of the package are refused here rather than answered wrongly:
 * it reads numbers as JavaScript numbers (exact only up to 2^53-1), and it
 * reads a local segment such as `1e5` or `0x1f` as a number where PEP 440
 * compares it as text.
 */

import pep440 from '@renovatebot/pep440';

/** Orders two PEP 440 versions. Only for versions pep440VersionProblem accepts (the package throws TypeError on others). */
export function comparePep440Versions(a: string, b: string): number {
  return pep440.compare(a, b);
}

/** Why `v` is not a PEP 440 version the package compares exactly, or undefined. Never throws. */
export function pep440VersionProblem(v: string): string | undefined {
  if (pep440.valid(v) === null) return 'is not a PEP 440 version [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]';
  const plus = v.indexOf('+');
  const publicPart = plus < 0 ? v : v.slice(0, plus);
  const local = plus < 0 ? [] : v.slice(plus + 1).split(/[._-]/);
  const numbers = [...(publicPart.match(/[0-9]+/g) ?? []), ...local.filter((s) => /^[0-9]+$/.test(s))];
  const big = numbers.find((n) => BigInt(n) > BigInt(Number.MAX_SAFE_INTEGER));
  if (big !== undefined) return `the number ${big} is too large to compare exactly`;
  const misread = local.find((s) => !/^[0-9]+$/.test(s) && !Number.isNaN(Number(s)));
  return misread === undefined ? undefined : `the local segment ${JSON.stringify(misread)} would be compared as a number, not as text`;
}
