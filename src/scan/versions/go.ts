/*
 * Go module versions, as golang.org/x/mod/semver reads and orders them:
 * vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]], where `v1` and `v1.2` are
 * shorthands for v1.0.0 and v1.2.0 (without pre-release or build).
 * Numbers have no leading zeros; pre-release identifiers are dot-separated,
 * non-empty [0-9A-Za-z-], numeric ones without leading zeros; build metadata
 * (`+incompatible` included) is ignored in comparisons. Pseudo-versions
 * (v0.0.0-20191109021931-daa7c04131f5) are ordinary pre-releases.
 *
 * OSV writes Go versions without the `v` (osv-schema, "Go"): a version not
 * starting with `v` is read as if it did.
 */

interface GoVersion {
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
}

const NUMBER = '(0|[1-9][0-9]*)';
const IDENT = '[0-9A-Za-z-]+';
const GO_VERSION = new RegExp(
  `^v${NUMBER}(?:\\.${NUMBER}(?:\\.${NUMBER}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+${IDENT}(?:\\.${IDENT})*)?)?)?$`,
);

function parse(v: string): GoVersion | undefined {
  const m = GO_VERSION.exec(v.startsWith('v') ? v : `v${v}`);
  if (!m) return undefined;
  const prerelease = m[4] === undefined ? [] : m[4].split('.');
  if (prerelease.some((id) => /^0[0-9]+$/.test(id))) return undefined; // numeric identifier with a leading zero
  return { major: m[1] ?? '0', minor: m[2] ?? '0', patch: m[3] ?? '0', prerelease };
}

/** Numbers without leading zeros: the longer is larger, else text order. */
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0 precedence of pre-release identifier lists; an empty list (a release) is highest. */
function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny) return compareNumbers(x, y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(a.length - b.length);
}

function mustParse(v: string): GoVersion {
  const parsed = parse(v);
  if (!parsed) throw new RangeError(`not a Go module version: ${JSON.stringify(v)}`);
  return parsed;
}

/** Orders two Go module versions (golang.org/x/mod/semver Compare). Throws RangeError for versions goVersionProblem refuses. */
export function compareGoVersions(a: string, b: string): number {
  const x = mustParse(a);
  const y = mustParse(b);
  return (
    compareNumbers(x.major, y.major) ||
    compareNumbers(x.minor, y.minor) ||
    compareNumbers(x.patch, y.patch) ||
    comparePrerelease(x.prerelease, y.prerelease)
  );
}

/** Why `v` is not a Go module version (golang.org/x/mod/semver IsValid, `v` optional), or undefined. Never throws. */
export function goVersionProblem(v: string): string | undefined {
  return parse(v) ? undefined : 'is not a Go module version (v)MAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]] without leading zeros';
}
