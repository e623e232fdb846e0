/*
 * Version ordering exactly as each package ecosystem defines it, for matching
 * installed packages against OSV advisory ranges.
 *
 * One module per scheme, each written from its ecosystem's own rules and
 * tested against the ecosystem tools' published vectors
 * (test/fixtures/versions/README.md): apk (apk-tools), dpkg (deb-version(7)),
 * rpm (rpmvercmp), go (golang.org/x/mod/semver), maven (ComparableVersion),
 * rubygems (Gem::Version); semver (npm, crates.io) and pep440 (PyPI) use the
 * installed `semver` and `@renovatebot/pep440` packages.
 *
 * Every version first passes the checks common to all schemes: a non-empty
 * string of at most MAX_VERSION_LENGTH characters without whitespace or
 * control characters (tools that trim surrounding whitespace are stricter
 * here: callers trim). Each comparison is linear in the versions' length.
 */

import { apkVersionProblem, compareApkVersions } from './apk.js';
import { compareDpkgVersions, dpkgVersionProblem } from './dpkg.js';
import { compareGoVersions, goVersionProblem } from './go.js';
import { compareMavenVersions, mavenVersionProblem } from './maven.js';
import { comparePep440Versions, pep440VersionProblem } from './pep440.js';
import { compareRpmVersions, rpmVersionProblem } from './rpm.js';
import { compareRubygemsVersions, rubygemsVersionProblem } from './rubygems.js';
import { compareSemverVersions, semverVersionProblem } from './semver.js';

export type VersionScheme = 'apk' | 'dpkg' | 'rpm' | 'semver' | 'pep440' | 'go' | 'maven' | 'rubygems';

/** Longest version accepted by any scheme (Maven's and node-semver's own limit). */
export const MAX_VERSION_LENGTH = 256;

/** A version its scheme cannot read. The message names the scheme, the version (shortened, escaped) and the reason. */
export class InvalidVersionError extends Error {
  override readonly name = 'InvalidVersionError';
  constructor(
    readonly scheme: VersionScheme,
    readonly version: string,
    reason: string,
  ) {
    super(`invalid ${scheme} version ${quote(version)}: ${reason}`);
  }
}

interface SchemeRules {
  /** Why the version is not valid in the scheme, or undefined when it is. */
  problem(v: string): string | undefined;
  /** The scheme's ordering; only called with versions `problem` accepted. */
  compare(a: string, b: string): number;
}

const SCHEMES: Record<VersionScheme, SchemeRules> = {
  apk: { problem: apkVersionProblem, compare: compareApkVersions },
  dpkg: { problem: dpkgVersionProblem, compare: compareDpkgVersions },
  rpm: { problem: rpmVersionProblem, compare: compareRpmVersions },
  semver: { problem: semverVersionProblem, compare: compareSemverVersions },
  pep440: { problem: pep440VersionProblem, compare: comparePep440Versions },
  go: { problem: goVersionProblem, compare: compareGoVersions },
  maven: { problem: mavenVersionProblem, compare: compareMavenVersions },
  rubygems: { problem: rubygemsVersionProblem, compare: compareRubygemsVersions },
};

/** Whitespace, control characters and unpaired surrogates: never part of a version. */
const FORBIDDEN = /[\s\p{Cc}]|\p{Cs}/u;

function problem(scheme: VersionScheme, v: unknown): string | undefined {
  if (typeof v !== 'string') return 'not a string';
  if (v.length === 0) return 'empty';
  if (v.length > MAX_VERSION_LENGTH) return `longer than ${MAX_VERSION_LENGTH} characters`;
  if (FORBIDDEN.test(v)) return 'contains whitespace or a control character';
  return SCHEMES[scheme].problem(v);
}

function check(scheme: VersionScheme, v: string): void {
  const reason = problem(scheme, v);
  if (reason !== undefined) throw new InvalidVersionError(scheme, typeof v === 'string' ? v : `<${typeof v}>`, reason);
}

/**
 * Orders two versions by the scheme's rules: -1 when a sorts before b, 0 when
 * they are equal in the scheme (`1.0` and `1.0.0` in Maven), 1 when a sorts
 * after b. Throws InvalidVersionError when either is not valid in the scheme.
 */
export function compareVersions(scheme: VersionScheme, a: string, b: string): number {
  check(scheme, a);
  check(scheme, b);
  const r = SCHEMES[scheme].compare(a, b);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/** True when compareVersions would accept `v` for the scheme. Never throws. */
export function isValidVersion(scheme: VersionScheme, v: string): boolean {
  return problem(scheme, v) === undefined;
}

/** OSV ecosystem names (https://ossf.github.io/osv-schema/, "Defined ecosystems") and the scheme that orders their versions. */
const ECOSYSTEM_SCHEMES: ReadonlyMap<string, VersionScheme> = new Map<string, VersionScheme>([
  ['Alpine', 'apk'],
  ['Wolfi', 'apk'],
  ['Chainguard', 'apk'],
  ['Debian', 'dpkg'],
  ['Ubuntu', 'dpkg'],
  ['Red Hat', 'rpm'],
  ['AlmaLinux', 'rpm'],
  ['Rocky Linux', 'rpm'],
  ['openSUSE', 'rpm'],
  ['SUSE', 'rpm'],
  ['Mageia', 'rpm'],
  ['openEuler', 'rpm'],
  ['Photon OS', 'rpm'],
  ['npm', 'semver'],
  ['crates.io', 'semver'],
  ['PyPI', 'pep440'],
  ['Go', 'go'],
  ['Maven', 'maven'],
  ['RubyGems', 'rubygems'],
]);

/**
 * OSV ecosystem name, possibly with a release suffix after the first colon
 * ("Debian:12", "Alpine:v3.19", "Ubuntu:22.04:LTS",
 * "Red Hat:enterprise_linux:9::baseos"), to its version scheme. Names are
 * case-sensitive as osv-schema spells them; undefined when unknown. Never throws.
 */
export function schemeForEcosystem(ecosystem: string): VersionScheme | undefined {
  if (typeof ecosystem !== 'string') return undefined;
  const colon = ecosystem.indexOf(':');
  return ECOSYSTEM_SCHEMES.get(colon < 0 ? ecosystem : ecosystem.slice(0, colon));
}

/** The version for a message: JSON-quoted (control characters escaped), cut at 64 characters. */
function quote(v: string): string {
  return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
}
