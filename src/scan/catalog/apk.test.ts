import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../layers/test-helpers.js';
import type { FileTree, ImageFile, OsInfo } from '../types.js';
import { APK_INSTALLED, apkCataloger, parseApkInstalled } from './apk.js';

const ALPINE: OsInfo = { id: 'alpine', versionId: '3.19.1' };

function file(content: Buffer | string): ImageFile {
  const bytes = Buffer.from(content);
  return { path: APK_INSTALLED, size: bytes.length, mode: 0o644, layer: 'sha256:base', content: bytes };
}

function collect(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

test('finds every package of a real installed database (values read from the file)', () => {
  const { warn, messages } = collect();
  const packages = parseApkInstalled(file(fixture('apk/installed-multiple')), ALPINE, warn);
  assert.deepEqual(messages, []);
  assert.deepEqual(
    packages.map((p) => [p.name, p.version, p.arch, p.source, p.licenses]),
    [
      ['bash', '5.2.21-r0', 'x86_64', { name: 'bash', version: '5.2.21-r0' }, ['GPL-3.0-or-later']],
      ['busybox-binsh', '1.36.1-r15', 'x86_64', { name: 'busybox', version: '1.36.1-r15' }, ['GPL-2.0-only']],
      ['musl', '1.2.4_git20230717-r4', 'x86_64', { name: 'musl', version: '1.2.4_git20230717-r4' }, ['MIT']],
      ['readline', '8.2.1-r2', 'x86_64', { name: 'readline', version: '8.2.1-r2' }, ['GPL-2.0-or-later']],
    ],
  );
  const busybox = packages[1];
  assert.equal(busybox?.purl, 'pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=3.19.1');
  assert.equal(busybox?.type, 'apk');
  assert.equal(busybox?.path, '/lib/apk/db/installed');
  assert.equal(busybox?.layer, 'sha256:base');
});

test('a record whose origin differs from its name, with an old-style license list', () => {
  const [p, ...rest] = parseApkInstalled(file(fixture('apk/installed-single')), undefined, () => assert.fail());
  assert.equal(rest.length, 0);
  assert.equal(p?.name, 'musl-utils');
  assert.deepEqual(p?.source, { name: 'musl', version: '1.1.24-r2' });
  assert.deepEqual(p?.licenses, ['MIT BSD GPL2+']);
  assert.equal(p?.purl, 'pkg:apk/musl-utils@1.1.24-r2?arch=x86_64', 'no OS known: no vendor, no distro');
});

test('damaged databases give what can be read and warnings', () => {
  const { warn, messages } = collect();
  const text = 'P:ok\r\nV:1-r0\r\n\r\nP:noversion\n\nV:2-r0\nA:x86_64\n\n\u0000:garbage\n';
  const packages = parseApkInstalled(file(text), ALPINE, warn);
  assert.deepEqual(
    packages.map((p) => `${p.name}@${p.version}`),
    ['ok@1-r0'],
  );
  assert.deepEqual(messages, [
    '/lib/apk/db/installed: record 2 has no P: (name) or V: (version); skipped',
    '/lib/apk/db/installed: record 3 has no P: (name) or V: (version); skipped',
    '/lib/apk/db/installed: record 4 has no P: (name) or V: (version); skipped',
  ]);
  assert.deepEqual(parseApkInstalled(file(''), ALPINE, warn), []);
});

test('the cataloger keeps only the installed database', async () => {
  assert.equal(apkCataloger.select('/lib/apk/db/installed', 10, 0o644), 'keep');
  assert.equal(apkCataloger.select('/lib/apk/db/lock', 0, 0o644), undefined);
  const tree: FileTree = { get: (p) => (p === APK_INSTALLED ? file(fixture('apk/installed-single')) : undefined), list: () => [] };
  assert.equal((await apkCataloger.catalog?.(tree, ALPINE, () => undefined))?.length, 1);
  const empty: FileTree = { get: () => undefined, list: () => [] };
  assert.deepEqual(await apkCataloger.catalog?.(empty, ALPINE, () => undefined), []);
});
