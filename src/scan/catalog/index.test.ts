import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayerReadError } from '../layers/index.js';
import { fixture, gzipLayer, layer, tarLayer } from '../layers/test-helpers.js';
import type { Cataloger, ImageFile, Package } from '../types.js';
import { catalogImage, osCatalogers } from './index.js';

const ids = (packages: Package[]) => packages.map((p) => `${p.type}:${p.name}@${p.version}`);

test('a Debian image: os-release through its symlink, status and status.d across layers', async () => {
  const base = await gzipLayer('sha256:base', [
    { name: 'usr/lib/os-release', body: fixture('os-release/debian-12') },
    { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
    { name: 'var/lib/dpkg/status', body: fixture('dpkg/status') },
  ]);
  const distroless = await tarLayer('sha256:top', [
    { name: 'var/lib/dpkg/status.d/busybox', body: fixture('dpkg/status.d/busybox') },
    { name: 'var/lib/dpkg/status.d/busybox.md5sums', body: fixture('dpkg/status.d/busybox.md5sums') },
    { name: 'var/lib/dpkg/status.d/autotools-dev', body: fixture('dpkg/status.d/autotools-dev') },
  ]);
  const r = await catalogImage([base, distroless], osCatalogers);
  assert.deepEqual(r.os, { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.deepEqual(ids(r.packages), [
    'dpkg:autotools-dev@20220109.1',
    'dpkg:bash@5.2.15-2+b8',
    'dpkg:busybox@1:1.35.0-4+deb12u1+b1',
    'dpkg:libc6@2.36-9+deb12u14',
    'dpkg:tzdata@2025b-0+deb12u2',
    'dpkg:zlib1g@1:1.2.13.dfsg-1',
  ]);
  const busybox = r.packages.find((p) => p.name === 'busybox');
  assert.equal(busybox?.layer, 'sha256:top');
  assert.equal(busybox?.path, '/var/lib/dpkg/status.d/busybox');
  assert.equal(r.packages.find((p) => p.name === 'bash')?.layer, 'sha256:base');
  assert.deepEqual(r.warnings, []);
});

test('an Alpine image, and the same image once a layer deletes the database', async () => {
  const base = await gzipLayer('sha256:alpine', [
    { name: 'etc/os-release', body: fixture('os-release/alpine-3.15') },
    { name: 'lib/apk/db/installed', body: fixture('apk/installed-multiple') },
  ]);
  const r = await catalogImage([base], osCatalogers);
  assert.equal(r.os?.versionId, '3.15.4');
  assert.deepEqual(ids(r.packages), ['apk:bash@5.2.21-r0', 'apk:busybox-binsh@1.36.1-r15', 'apk:musl@1.2.4_git20230717-r4', 'apk:readline@8.2.1-r2']);
  assert.equal(r.packages[0]?.purl, 'pkg:apk/alpine/bash@5.2.21-r0?arch=x86_64&distro=3.15.4');
  const wipe = await tarLayer('sha256:wipe', [{ name: 'lib/apk/db/.wh.installed', body: '' }]);
  const wiped = await catalogImage([base, wipe], osCatalogers);
  assert.equal(wiped.os?.id, 'alpine');
  assert.deepEqual(wiped.packages, []);
});

test('an RPM image where /var/lib/rpm links to /usr/lib/sysimage/rpm is read once', async () => {
  const base = await gzipLayer('sha256:rocky', [
    { name: 'etc/os-release', body: fixture('os-release/rocky-9.3') },
    { name: 'usr/lib/sysimage/rpm/rpmdb.sqlite', body: fixture('rpm/rpmdb.sqlite') },
    { name: 'var/lib/rpm', type: 'symlink', linkname: '../../usr/lib/sysimage/rpm' },
  ]);
  const r = await catalogImage([base], osCatalogers);
  assert.deepEqual(ids(r.packages), ['rpm:berth-hello@2:1.2.3-4.fixture', 'rpm:berth-hello-data@2:1.2.3-4.fixture', 'rpm:berth-tiny@0.1-1']);
  assert.ok(r.packages.every((p) => p.purl.includes('distro=rocky-9.3') && p.path === '/usr/lib/sysimage/rpm/rpmdb.sqlite'));
});

function pkg(name: string, file: ImageFile, by: string): Package {
  return { name, version: file.content.toString(), type: 'npm', purl: `pkg:npm/${name}@${file.content.toString()}`, path: `${file.path} ${by}`, layer: file.layer };
}

test('selections merge (keep wins, inspect still runs) and cataloger failures become warnings', async () => {
  const keeper: Cataloger = {
    name: 'keeper',
    select: (path) => (path === '/app/bin' ? 'keep' : undefined),
    catalog: async (tree) => {
      const f = tree.get('/app/bin');
      return f ? [pkg('kept', f, 'catalog')] : [];
    },
  };
  const inspector: Cataloger = {
    name: 'inspector',
    select: (path) => (path.startsWith('/app/') ? 'inspect' : undefined),
    inspect: async (f) => {
      if (f.path === '/app/tool') throw new Error('bad binary');
      return [pkg('inspected', f, 'inspect')];
    },
  };
  const broken: Cataloger = {
    name: 'broken',
    select: () => undefined,
    catalog: async () => {
      throw new Error('database exploded');
    },
  };
  const l1 = await tarLayer('sha256:l1', [
    { name: 'app/bin', body: '1.0.0' },
    { name: 'app/lib', body: '2.0.0' },
    { name: 'app/tool', body: '3.0.0' },
  ]);
  const r = await catalogImage([l1], [broken, inspector, keeper]);
  assert.deepEqual(
    r.packages.map((p) => `${p.name}@${p.version} ${p.path}`),
    ['inspected@1.0.0 /app/bin inspect', 'inspected@2.0.0 /app/lib inspect', 'kept@1.0.0 /app/bin catalog'],
  );
  assert.deepEqual(r.warnings, ['inspector: failed on /app/tool: bad binary', 'broken: failed: database exploded']);
  assert.equal(r.os, undefined);
});

test('an unreadable layer fails the scan with a LayerReadError', async () => {
  await assert.rejects(catalogImage([layer('sha256:junk', Buffer.alloc(1024, 1))], osCatalogers), LayerReadError);
});
