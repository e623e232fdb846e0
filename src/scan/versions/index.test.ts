import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, InvalidVersionError, isValidVersion, MAX_VERSION_LENGTH, schemeForEcosystem, type VersionScheme } from './index.js';

const SCHEMES: VersionScheme[] = ['apk', 'dpkg', 'rpm', 'semver', 'pep440', 'go', 'maven', 'rubygems'];

/** A valid version of each scheme, from the ecosystems' own vectors. */
const SAMPLE: Record<VersionScheme, string> = {
  apk: '2.2.39-r1',
  dpkg: '1:3.8.1-1',
  rpm: '1:2.3-4.el9',
  semver: '1.2.3-a.10',
  pep440: '1.0b2.post345.dev456',
  go: 'v1.2.3-pre.1',
  maven: '1.0-alpha-1-SNAPSHOT',
  rubygems: '1.8.2.a10',
};

describe('compareVersions', () => {
  test('returns -1, 0 or 1', () => {
    assert.equal(compareVersions('dpkg', '1.0-1', '2.0-2'), -1);
    assert.equal(compareVersions('maven', '1', '1.0.0'), 0);
    assert.equal(compareVersions('rpm', '5.5p10', '5.5p1'), 1);
    assert.equal(compareVersions('apk', '1.0.4-r3', '1.0.4-r4'), -1);
  });

  test('refuses empty, too long, whitespace, control characters and non-strings in every scheme', () => {
    const bad: [unknown, RegExp][] = [
      ['', /empty/],
      ['1'.repeat(MAX_VERSION_LENGTH + 1), /longer than 256/],
      ['1.0\u0000', /control/],
      ['1.0\u001b[31m', /control/],
      ['1.0\n', /whitespace/],
      [' 1.0', /whitespace/],
      ['1.0\u00a0', /whitespace/],
      ['1.0\ud800', /control/],
      [42, /not a string/],
      [undefined, /not a string/],
    ];
    for (const scheme of SCHEMES) {
      for (const [v, reason] of bad) {
        assert.equal(isValidVersion(scheme, v as string), false, `${scheme} ${String(v)}`);
        assert.throws(
          () => compareVersions(scheme, v as string, SAMPLE[scheme]),
          (e: unknown) => e instanceof InvalidVersionError && e.scheme === scheme && reason.test(e.message),
        );
        assert.throws(() => compareVersions(scheme, SAMPLE[scheme], v as string), InvalidVersionError);
      }
    }
  });

  test('accepts a version of exactly MAX_VERSION_LENGTH characters', () => {
    const long = `1.${'1'.repeat(MAX_VERSION_LENGTH - 2)}`;
    assert.equal(long.length, MAX_VERSION_LENGTH);
    for (const scheme of ['apk', 'dpkg', 'rpm', 'maven', 'rubygems'] as const) {
      assert.equal(isValidVersion(scheme, long), true, scheme);
      assert.equal(compareVersions(scheme, long, long), 0, scheme);
    }
  });

  test('the error names the scheme and the version, escaped and shortened', () => {
    assert.throws(() => compareVersions('semver', 'not a version', '1.0.0'), InvalidVersionError);
    try {
      compareVersions('go', `v1.${'x'.repeat(200)}`, 'v1.0.0');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof InvalidVersionError);
      assert.equal(err.name, 'InvalidVersionError');
      assert.equal(err.version, `v1.${'x'.repeat(200)}`);
      assert.match(err.message, /^invalid go version "v1\.x{61}…": is not a Go module version/);
    }
    assert.throws(() => compareVersions('dpkg', 'a:1', '1'), /invalid dpkg version "a:1": the epoch is not a number/);
    assert.throws(() => compareVersions('semver', '1.0\u0007', '1.0.0'), /"1\.0\\u0007"/);
  });

  test('every sample is valid in its own scheme', () => {
    for (const scheme of SCHEMES) assert.equal(isValidVersion(scheme, SAMPLE[scheme]), true, scheme);
  });

  test('hostile versions of the maximum length compare (bounded: a quadratic path would run past the timeout)', { timeout: 30_000 }, () => {
    const n = MAX_VERSION_LENGTH;
    const hostile: [VersionScheme, string, string][] = [
      ['apk', `1${'.1'.repeat((n - 1) / 2)}`, `1${'.1'.repeat((n - 3) / 2)}.2`],
      ['dpkg', `1${'~'.repeat(n - 1)}`, `1${'~'.repeat(n - 2)}a`],
      ['rpm', `1${'.0'.repeat((n - 1) / 2)}`, `1${'.0'.repeat((n - 3) / 2)}.a`],
      ['maven', `1${'-1'.repeat((n - 1) / 2)}`, `1${'-1'.repeat((n - 3) / 2)}-a`],
      ['maven', '1'.repeat(n), '1'.repeat(n - 1)],
      ['rubygems', `1${'.0'.repeat((n - 3) / 2)}.a`, `1${'.0'.repeat((n - 1) / 2)}`],
      ['pep440', `1${'.0'.repeat((n - 1) / 2)}`, '1'],
      ['pep440', `1${'.0'.repeat((n - 3) / 2)}.a`, '1'],
      ['go', `v1.0.0-${'a.'.repeat((n - 8) / 2)}a`, 'v1.0.0'],
      ['semver', `1.0.0-${'a.'.repeat((n - 8) / 2)}a`, '1.0.0'],
    ];
    for (let round = 0; round < 50; round++) {
      for (const [scheme, a, b] of hostile) {
        assert.ok(a.length <= n && b.length <= n, `${scheme} sample too long`);
        compareVersions(scheme, a, b);
        compareVersions(scheme, b, a);
      }
    }
  });
});

describe('schemeForEcosystem', () => {
  test('maps every OSV ecosystem the scanner matches, with or without a release suffix', () => {
    const cases: [string, VersionScheme][] = [
      ['Alpine:v3.19', 'apk'],
      ['Wolfi', 'apk'],
      ['Chainguard', 'apk'],
      ['Debian:12', 'dpkg'],
      ['Ubuntu:22.04:LTS', 'dpkg'],
      ['Ubuntu:Pro:18.04:LTS', 'dpkg'],
      ['Red Hat:enterprise_linux:9::baseos', 'rpm'],
      ['AlmaLinux:8', 'rpm'],
      ['Rocky Linux:9', 'rpm'],
      ['openSUSE:Leap 15.5', 'rpm'],
      ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
      ['Mageia:9', 'rpm'],
      ['openEuler:22.03-LTS-SP1', 'rpm'],
      ['Photon OS:5.0', 'rpm'],
      ['npm', 'semver'],
      ['crates.io', 'semver'],
      ['PyPI', 'pep440'],
      ['Go', 'go'],
      ['Maven', 'maven'],
      ['RubyGems', 'rubygems'],
    ];
    for (const [ecosystem, scheme] of cases) assert.equal(schemeForEcosystem(ecosystem), scheme, ecosystem);
  });

  test('unknown names, other spellings and non-strings give undefined', () => {
    for (const e of ['', 'debian:12', 'PYPI', 'Packagist', 'NuGet', 'Hex', 'GIT', ':Debian', 'constructor', '__proto__', 'toString']) {
      assert.equal(schemeForEcosystem(e), undefined, e);
    }
    assert.equal(schemeForEcosystem(undefined as unknown as string), undefined);
  });
});
