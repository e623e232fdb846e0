import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Package, PackageType } from '../types.js';
import { packageId, relativePath, trivyLangType, trivyOsFamily } from './targets.js';

/*
 * Expected values are Trivy's own names: the OSType and LangType constants of
 * pkg/fanal/types/const.go, and the package IDs its reports show
 * ("audit-libs@2.8.5-4.el7.x86_64" for an RPM, docs/docs/configuration/filtering.md;
 * "bash@5.0-4" for a Debian package, integration/testdata/debian-buster.json.golden).
 */

const pkg = (type: PackageType, path: string, extra: Partial<Package> = {}): Package => ({
  name: 'x',
  version: '1',
  type,
  purl: 'pkg:generic/x@1',
  path,
  ...extra,
});

describe('Trivy names', () => {
  test('OS families from os-release IDs', () => {
    const family = (id: string): string => trivyOsFamily({ id });
    assert.deepEqual(
      ['debian', 'ubuntu', 'alpine', 'rhel', 'almalinux', 'rocky', 'fedora', 'amzn', 'ol', 'wolfi', 'opensuse-leap', 'sles', 'mariner'].map(family),
      ['debian', 'ubuntu', 'alpine', 'redhat', 'alma', 'rocky', 'fedora', 'amazon', 'oracle', 'wolfi', 'opensuse.leap', 'suse linux enterprise server', 'cbl-mariner'],
    );
  });

  test('language types by file and package type', () => {
    const cases: [PackageType, string, string][] = [
      ['npm', '/app/package-lock.json', 'npm'],
      ['npm', '/app/yarn.lock', 'yarn'],
      ['npm', '/app/pnpm-lock.yaml', 'pnpm'],
      ['npm', '/app/node_modules/a/package.json', 'node-pkg'],
      ['python', '/app/requirements.txt', 'pip'],
      ['python', '/app/requirements-dev.txt', 'pip'],
      ['python', '/app/Pipfile.lock', 'pipenv'],
      ['python', '/app/poetry.lock', 'poetry'],
      ['python', '/usr/lib/python3/dist-packages/a-1.dist-info/METADATA', 'python-pkg'],
      ['go-module', '/src/go.mod', 'gomod'],
      ['go-module', '/usr/local/bin/app', 'gobinary'],
      ['java', '/app/pom.xml', 'pom'],
      ['java', '/app/gradle.lockfile', 'gradle'],
      ['java', '/app/lib/a.jar', 'jar'],
      ['gem', '/app/Gemfile.lock', 'bundler'],
      ['gem', '/usr/lib/ruby/gems/3.1.0/specifications/a-1.gemspec', 'gemspec'],
      ['cargo', '/src/Cargo.lock', 'cargo'],
      ['cargo', '/usr/local/bin/tool', 'rustbinary'],
    ];
    for (const [type, path, expected] of cases) assert.equal(trivyLangType(pkg(type, path)), expected, path);
  });

  test('package IDs', () => {
    assert.equal(packageId(pkg('dpkg', '/var/lib/dpkg/status', { name: 'bash', version: '5.0-4', arch: 'amd64' })), 'bash@5.0-4');
    assert.equal(packageId(pkg('rpm', '/var/lib/rpm/rpmdb.sqlite', { name: 'audit-libs', version: '2.8.5-4.el7', arch: 'x86_64' })), 'audit-libs@2.8.5-4.el7.x86_64');
    assert.equal(packageId(pkg('java', '/a.jar', { name: 'org.example:lib', version: '1.0' })), 'org.example:lib:1.0');
    assert.equal(relativePath('//usr/bin/x'), 'usr/bin/x');
  });
});
