import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../layers/test-helpers.js';
import type { FileTree, ImageFile, OsInfo, Package } from '../types.js';
import { DPKG_STATUS, dpkgCataloger, paragraphs, parseDpkgStatus } from './dpkg.js';

const DEBIAN: OsInfo = { id: 'debian', versionId: '12', versionCodename: 'bookworm' };

function file(path: string, content: Buffer | string): ImageFile {
  const bytes = Buffer.from(content);
  return { path, size: bytes.length, mode: 0o644, layer: 'sha256:base', content: bytes };
}

const row = (p: Package) => [p.name, p.version, p.source?.name, p.source?.version, p.arch].join(' ');

test('status: the installed packages dpkg-query lists, with their sources', () => {
  // dpkg-query.txt: ${Package} ${Version} ${source:Package} ${source:Version} ${Architecture} ${db:Status-Status}
  const oracle = fixture('dpkg/dpkg-query.txt').toString().trimEnd().split('\n');
  const installed = oracle.filter((l) => l.endsWith(' installed')).map((l) => l.split(' ').slice(0, 5).join(' '));
  assert.ok(oracle.some((l) => l.endsWith(' config-files')), 'the fixture has a removed package');
  const messages: string[] = [];
  const packages = parseDpkgStatus(file(DPKG_STATUS, fixture('dpkg/status')), DEBIAN, (m) => messages.push(m));
  assert.deepEqual(packages.map(row), installed);
  assert.deepEqual(messages, []);
  const zlib = packages.find((p) => p.name === 'zlib1g');
  assert.equal(zlib?.purl, 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12');
  assert.equal(zlib?.type, 'dpkg');
  assert.equal(zlib?.path, DPKG_STATUS);
});

test('status.d: one control paragraph per file, as dpkg-deb shows them', () => {
  // dpkg-deb-show.txt: ${Package} ${Version} ${source:Package} ${source:Version} ${Architecture}
  for (const line of fixture('dpkg/dpkg-deb-show.txt').toString().trimEnd().split('\n')) {
    const name = line.split(' ')[0] as string;
    const packages = parseDpkgStatus(file(`/var/lib/dpkg/status.d/${name}`, fixture(`dpkg/status.d/${name}`)), DEBIAN, () => assert.fail());
    assert.deepEqual(packages.map(row), [line]);
  }
});

test('deb822: continuation lines, case-insensitive names, blank lines of spaces', () => {
  const text = 'package: a\nVERSION: 1\nDescription: short\n long\n .\n more\n \t\nPackage: b\nVersion: 2\n';
  assert.deepEqual(
    paragraphs(text).map((p) => Object.fromEntries(p)),
    [
      { package: 'a', version: '1', description: 'short\nlong\n.\nmore' },
      { package: 'b', version: '2' },
    ],
  );
});

test('damaged status files give what can be read and warnings', () => {
  const messages: string[] = [];
  const text = 'Package: ok\nVersion: 1\n\nPackage: noversion\n\nPackage: oddsource\nVersion: 3\nSource: x (y) z\n\n\u0000garbage: x';
  const packages = parseDpkgStatus(file(DPKG_STATUS, text), undefined, (m) => messages.push(m));
  assert.deepEqual(packages.map(row), ['ok 1 ok 1 ', 'oddsource 3 oddsource 3 ']);
  assert.equal(packages[0]?.purl, 'pkg:deb/ok@1');
  assert.deepEqual(messages, [
    '/var/lib/dpkg/status: paragraph 2 has no Package or Version; skipped',
    '/var/lib/dpkg/status: oddsource has an unreadable Source field; its source is taken to be itself',
    '/var/lib/dpkg/status: paragraph 4 has no Package or Version; skipped',
  ]);
});

test('the cataloger keeps status and status.d entries, not their md5sums', async () => {
  assert.equal(dpkgCataloger.select('/var/lib/dpkg/status', 1, 0o644), 'keep');
  assert.equal(dpkgCataloger.select('/var/lib/dpkg/status.d/busybox', 1, 0o644), 'keep');
  assert.equal(dpkgCataloger.select('/var/lib/dpkg/status.d/busybox.md5sums', 1, 0o644), undefined);
  assert.equal(dpkgCataloger.select('/var/lib/dpkg/status.d/sub/x', 1, 0o644), undefined);
  assert.equal(dpkgCataloger.select('/var/lib/dpkg/status-old', 1, 0o644), undefined);
  const files = [file('/var/lib/dpkg/status.d/busybox', fixture('dpkg/status.d/busybox'))];
  const tree: FileTree = { get: () => undefined, list: (match) => files.filter((f) => match(f.path)) };
  const packages = (await dpkgCataloger.catalog?.(tree, DEBIAN, () => undefined)) ?? [];
  assert.deepEqual(packages.map((p) => p.purl), ['pkg:deb/debian/busybox@1:1.35.0-4+deb12u1+b1?arch=amd64&distro=debian-12']);
});
