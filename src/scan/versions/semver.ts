/*
 * SemVer 2.0 precedence (https://semver.org/spec/v2.0.0.html, section 11) for
 * npm and crates.io, through the `semver` package (node-semver, strict mode):
 * major, minor and patch numerically, a pre-release below its release,
 * pre-release identifiers numerically when both are numeric, else in ASCII
 * order with numeric below alphanumeric, a longer identifier list higher when
 * the rest is equal; build metadata ignored. node-semver follows npm's own
 * rules and that precedence alike; it also takes a leading `v`, which
 * crates.io versions never have.
 *
 * Cargo's `semver` crate additionally orders versions that differ only in
 * build metadata (`1.0.0+a` < `1.0.0+b`) to make its Ord total; OSV's SEMVER
 * ranges use precedence, where they are equal.
 */

import semver from 'semver';

/** Orders two SemVer versions by precedence. Throws TypeError (from node-semver) for versions semverVersionProblem refuses. */
export function compareSemverVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

/** Why `v` is not a SemVer 2.0 version node-semver compares exactly, or undefined. Never throws. */
export function semverVersionProblem(v: string): string | undefined {
  const parsed = semver.parse(v);
  if (!parsed) return 'is not a SemVer 2.0 version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (numbers up to 2^53-1, no leading zeros)';
  // node-semver keeps numeric identifiers past 2^53-1 as text but compares them as (rounded) numbers.
  const big = parsed.prerelease.find((id) => typeof id === 'string' && /^[0-9]+$/.test(id));
  return big === undefined ? undefined : `the numeric pre-release identifier ${big} is too large to compare exactly`;
}
