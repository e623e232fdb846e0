import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../layers/test-helpers.js';
import type { FileTree, ImageFile } from '../types.js';
import { detectOs, distroQualifier, osPackageUrl, parseOsRelease, parseOsReleaseVariables } from './os-release.js';

test('reads every fixture as dash sources it (sh-oracle.txt)', () => {
  const lines = fixture('os-release/sh-oracle.txt').toString().replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 4);
  for (const line of lines) {
    const [file, ...expected] = line.split('\t');
    const vars = parseOsReleaseVariables(fixture(`os-release/${file}`).toString());
    const got = ['ID', 'VERSION_ID', 'VERSION_CODENAME', 'PRETTY_NAME', 'ID_LIKE', 'KEY'].map((k) => vars.get(k) ?? '');
    assert.deepEqual(got, expected, file);
  }
});

test('OsInfo from os-release keys', () => {
  assert.deepEqual(parseOsRelease(fixture('os-release/rocky-9.3').toString()), {
    id: 'rocky',
    versionId: '9.3',
    prettyName: 'Rocky Linux 9.3 (Blue Onyx)',
    idLike: ['rhel', 'centos', 'fedora'],
  });
  assert.deepEqual(parseOsRelease(fixture('os-release/debian-12').toString()), {
    id: 'debian',
    versionId: '12',
    versionCodename: 'bookworm',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
  });
  // os-release(5): "If not set, a default of ID=linux may be used."
  assert.deepEqual(parseOsRelease('NAME=Something\n'), { id: 'linux' });
});

test('comments, blank lines and malformed assignments are skipped', () => {
  const text = ['# ID=commented', '', '  ID=indented', 'BAD KEY=x', '=novalue', 'OPEN="never closed', "SQ='a\\b'", 'BS=a\\ b'].join('\n');
  const vars = parseOsReleaseVariables(text);
  assert.deepEqual([...vars], [
    ['ID', 'indented'],
    ['SQ', 'a\\b'], // single quotes keep backslashes
    ['BS', 'a b'], // unquoted, a backslash escapes the space
  ]);
});

function tree(files: Record<string, string>): FileTree {
  const get = (path: string): ImageFile | undefined => {
    const content = files[path];
    return content === undefined ? undefined : { path, size: content.length, mode: 0o644, layer: 'sha256:l', content: Buffer.from(content) };
  };
  return { get, list: () => [] };
}

test('/etc/os-release wins over /usr/lib/os-release; either one is enough', () => {
  assert.equal(detectOs(tree({ '/etc/os-release': 'ID=etc\n', '/usr/lib/os-release': 'ID=usr\n' }))?.id, 'etc');
  assert.equal(detectOs(tree({ '/usr/lib/os-release': 'ID=usr\n' }))?.id, 'usr');
  assert.equal(detectOs(tree({})), undefined);
});

test('OS package purls follow the PURL-TYPES examples', () => {
  // purl-spec PURL-TYPES.rst, deb, apk and rpm examples (qualifiers in canonical, sorted order).
  assert.equal(osPackageUrl('deb', { id: 'debian' }, 'curl', '7.50.3-1', { arch: 'i386', distro: 'jessie' }), 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie');
  assert.equal(osPackageUrl('deb', { id: 'ubuntu' }, 'dpkg', '1.19.0.4', { arch: 'amd64', distro: undefined }), 'pkg:deb/ubuntu/dpkg@1.19.0.4?arch=amd64');
  assert.equal(osPackageUrl('apk', { id: 'alpine' }, 'curl', '7.83.0-r0', { arch: 'x86' }), 'pkg:apk/alpine/curl@7.83.0-r0?arch=x86');
  assert.equal(
    osPackageUrl('rpm', { id: 'fedora', versionId: '25' }, 'curl', '7.50.3-1.fc25', { arch: 'i386', distro: distroQualifier({ id: 'fedora', versionId: '25' }) }),
    'pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25',
  );
  assert.equal(
    osPackageUrl('rpm', undefined, 'centerim', '4.22.10-1.el6', { arch: 'i686', epoch: '1', distro: 'fedora-25' }),
    'pkg:rpm/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1',
  );
  assert.equal(distroQualifier({ id: 'debian' }), undefined);
});
