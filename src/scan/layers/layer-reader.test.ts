import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ustar } from '../../../test/helpers/oci-layout.js';
import { MediaType } from '../../oci/media-type.js';
import type { ImageFile } from '../types.js';
import { LayerReadError, readLayers, type LayerInput, type Selection } from './layer-reader.js';
import { MAX_SYMLINK_HOPS } from './image-tree.js';
import { fixture, gzipLayer, layer, MT_GZIP, MT_TAR, MT_ZSTD, tarLayer, tarOf, type Entry } from './test-helpers.js';

const keepAll = (): Selection => 'keep';
const noInspect = async (): Promise<never> => assert.fail('inspect was not expected');
const paths = (files: ImageFile[]) => files.map((f) => f.path);
const text = (f: ImageFile | undefined) => f?.content.toString();

async function keepEverything(layers: LayerInput[]) {
  return readLayers(layers, keepAll, noInspect);
}

test('reads zstd, gzip and plain tar layers, trusting the magic bytes over the media type', async () => {
  const zstd = layer('sha256:zstd', fixture('layers/layer.tar.zst'), MT_ZSTD, 4096);
  const r1 = await keepEverything([zstd]);
  assert.equal(text(r1.tree.get('/hello/a.txt')), 'alpha\n');
  const seq = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join('');
  assert.equal(text(r1.tree.get('/hello/b.txt')), seq);
  assert.equal(r1.tree.get('/hello/link')?.path, '/hello/a.txt');
  assert.deepEqual(r1.warnings, []);

  // Gzip bytes under the uncompressed media type; Docker's media type; test/helpers' own ustar writer.
  const mislabelled = layer('sha256:mislabelled', gzipSync(await tarOf([{ name: 'x', body: 'gz' }])), MT_TAR);
  const docker = layer('sha256:docker', gzipSync(await tarOf([{ name: 'y', body: 'docker' }])), MediaType.DockerLayerGzip);
  const plain = layer('sha256:plain', ustar([{ name: 'etc' }, { name: 'etc/z', content: 'ustar' }]), MT_TAR);
  const r2 = await keepEverything([mislabelled, docker, plain]);
  assert.deepEqual(
    r2.tree.list(() => true).map((f) => [f.path, text(f), f.layer]),
    [
      ['/etc/z', 'ustar', 'sha256:plain'],
      ['/x', 'gz', 'sha256:mislabelled'],
      ['/y', 'docker', 'sha256:docker'],
    ],
  );
  assert.deepEqual(r2.warnings, ['layer sha256:mislabelled: media type says none but the bytes are gzip']);
});

test('whiteouts remove what lower layers left, never what their own layer adds', async () => {
  const lower = await gzipLayer('sha256:l1', [
    { name: 'a/keep.txt', body: '1' },
    { name: 'a/gone.txt', body: '1' },
    { name: 'd/x/1.txt', body: '1' },
    { name: 'd/x/sub/2.txt', body: '1' },
    { name: 'o/old.txt', body: '1' },
    { name: 'o/sub/old.txt', body: '1' },
  ]);
  const upper = await gzipLayer('sha256:l2', [
    { name: 'a/.wh.gone.txt', body: '' },
    { name: 'd/.wh.x', body: '' },
    { name: 'd/x/new.txt', body: '2' }, // same layer as the whiteout of d/x: stays
    { name: 'o/new.txt', body: '2' },
    { name: 'o/.wh..wh..opq', body: '' }, // applies first, wherever it sits in the tar
    { name: 'w.txt', body: '2' },
    { name: '.wh.w.txt', body: '' }, // hides w.txt only from later layers' point of view: w.txt stays
    { name: 'a/.wh..wh.plnk', body: '' }, // AUFS metadata: ignored
    { name: 'a/.wh.', body: '' },
  ]);
  const r = await keepEverything([lower, upper]);
  assert.deepEqual(paths(r.tree.list(() => true)), ['/a/keep.txt', '/d/x/new.txt', '/o/new.txt', '/w.txt']);
  assert.deepEqual(r.warnings, ['layer sha256:l2: whiteout /a/.wh. names nothing; ignored']);

  // layer.md's own example: the opaque marker after the new a/b/c/foo still hides only a/b/c/bar.
  const base = await tarLayer('sha256:base', [{ name: 'a/b/c/bar', body: 'bar' }]);
  const next = await tarLayer('sha256:next', [
    { name: 'a/', type: 'directory' },
    { name: 'a/b/', type: 'directory' },
    { name: 'a/b/c/', type: 'directory' },
    { name: 'a/b/c/foo', body: 'foo' },
    { name: 'a/.wh..wh..opq', body: '' },
  ]);
  assert.deepEqual(paths((await keepEverything([base, next])).tree.list(() => true)), ['/a/b/c/foo']);
});

test('inspect results go when a later layer deletes or replaces the path', async () => {
  const select = (path: string, size: number): Selection => (path.startsWith('/bin/') && size > 0 ? 'inspect' : 'keep');
  const seen: string[] = [];
  const inspect = async (f: ImageFile) => {
    seen.push(`${f.path} ${f.layer} ${f.content.toString()}`);
    return f.content.toString();
  };
  const l1 = await tarLayer('sha256:l1', [
    { name: 'bin/a', body: 'a1' },
    { name: 'bin/b', body: 'b1' },
    { name: 'bin/c', body: 'c1' },
    { name: 'bin/d', body: 'd1' },
    { name: 'bin/e', body: 'e1' },
    { name: 'etc/conf', body: 'conf' },
  ]);
  const l2 = await tarLayer('sha256:l2', [
    { name: 'bin/.wh.a', body: '' },
    { name: 'bin/b', type: 'symlink', linkname: 'e' },
    { name: 'bin/c', body: 'c2' },
    { name: 'bin/d', body: '' }, // select no longer wants it (empty)
    { name: 'etc/conf/', type: 'directory' },
  ]);
  const r = await readLayers([l1, l2], select, inspect);
  assert.deepEqual([...r.inspected].sort(), [
    ['/bin/c', 'c2'],
    ['/bin/e', 'e1'],
  ]);
  assert.equal(r.tree.get('/etc/conf'), undefined);
  assert.equal(seen.length, 6);
  assert.ok(seen.includes('/bin/c sha256:l2 c2'));
});

test('symlinks resolve inside the image, never outside it', async () => {
  const chain: Entry[] = Array.from({ length: MAX_SYMLINK_HOPS + 1 }, (_, i) => ({
    name: `chain/${i}`,
    type: 'symlink',
    linkname: i === MAX_SYMLINK_HOPS ? '/etc/passwd' : `${i + 1}`,
  }));
  const l1 = await tarLayer('sha256:l1', [
    { name: 'usr/lib/os-release', body: 'ID=debian\n' },
    { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
    { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'var/evil-relative', type: 'symlink', linkname: '../../../../../../etc/passwd' },
    { name: 'var/evil-absolute', type: 'symlink', linkname: '/../../etc/./passwd' },
    { name: 'loop1', type: 'symlink', linkname: 'loop2' },
    { name: 'loop2', type: 'symlink', linkname: '/loop1' },
    { name: 'dirlink', type: 'symlink', linkname: '/usr/lib/' },
    ...chain,
  ]);
  const { tree } = await keepEverything([l1]);
  assert.equal(tree.get('/etc/os-release')?.path, '/usr/lib/os-release');
  assert.equal(tree.get('etc/../etc/os-release')?.path, '/usr/lib/os-release');
  assert.equal(tree.get('/var/evil-relative')?.path, '/etc/passwd');
  assert.equal(tree.get('/var/evil-absolute')?.path, '/etc/passwd');
  assert.equal(tree.get('/dirlink/os-release')?.path, '/usr/lib/os-release');
  assert.equal(tree.get('/loop1'), undefined);
  assert.equal(tree.get('/chain/1')?.path, '/etc/passwd', '40 hops');
  assert.equal(tree.get('/chain/0'), undefined, '41 hops');
  assert.deepEqual(paths(tree.list(() => true)), ['/etc/passwd', '/usr/lib/os-release']);
});

test('a layer writes through the symlinks lower layers left in its parent directories', async () => {
  const selected: string[] = [];
  const select = (path: string): Selection => {
    selected.push(path);
    return 'keep';
  };
  const l1 = await tarLayer('sha256:l1', [{ name: 'lib', type: 'symlink', linkname: 'usr/lib' }]);
  const l2 = await tarLayer('sha256:l2', [{ name: 'lib/libz.so.1', body: 'z' }]);
  const l3 = await tarLayer('sha256:l3', [{ name: 'lib/', type: 'directory' }]); // replaces the symlink
  const r = await readLayers([l1, l2, l3], select, noInspect);
  assert.deepEqual(selected, ['/usr/lib/libz.so.1']);
  assert.equal(r.tree.get('/usr/lib/libz.so.1')?.layer, 'sha256:l2');
  assert.equal(r.tree.get('/lib/libz.so.1'), undefined);

  // A path that only symlinks make longer than PATH_MAX is skipped, keeping the tree's depth bounded.
  const long = await tarLayer('sha256:long', [
    { name: 'deep', type: 'symlink', linkname: 'a/'.repeat(1500) },
    { name: `deep/${'b/'.repeat(600)}f`, body: 'f' },
  ]);
  const r2 = await readLayers([long], select, noInspect);
  assert.deepEqual(r2.tree.list(() => true), []);
  assert.match(r2.warnings[0] ?? '', /^layer sha256:long: \/deep\/b\/.*\/f resolves to a path over 4096 bytes; skipped$/);
});

test('entry names climbing above the root are clamped to it, with a warning', async () => {
  const l1 = await tarLayer('sha256:l1', [
    { name: '../../etc/shadow', body: 'clamped' },
    { name: './etc/./a/../b', body: 'b' },
  ]);
  const r = await keepEverything([l1]);
  assert.deepEqual(paths(r.tree.list(() => true)), ['/etc/b', '/etc/shadow']);
  assert.deepEqual(r.warnings, ['layer sha256:l1: entry "../../etc/shadow" climbs above the root; read as /etc/shadow']);
});

test('hard links carry their target bytes, even once the target is deleted', async () => {
  const select = (path: string): Selection => (path === '/usr/bin/skipped' ? undefined : 'keep');
  const l1 = await tarLayer('sha256:l1', [
    { name: 'usr/bin/a', body: 'binary' },
    { name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/a' },
    { name: 'usr/bin/skipped', body: 'not kept' },
    { name: 'usr/bin/c', type: 'link', linkname: 'usr/bin/skipped' },
  ]);
  const l2 = await tarLayer('sha256:l2', [{ name: 'usr/bin/.wh.a', body: '' }]);
  const r = await readLayers([l1, l2], select, noInspect);
  assert.deepEqual(
    r.tree.list(() => true).map((f) => [f.path, text(f)]),
    [['/usr/bin/b', 'binary']],
  );
  assert.deepEqual(r.warnings, [
    "layer sha256:l1: hard link /usr/bin/c -> usr/bin/skipped: the target's bytes were not kept; skipped",
  ]);
});

test('a gzip bomb stops at maxDecompressedBytes, counted over the whole image', async () => {
  const bomb = await gzipLayer('sha256:bomb', [{ name: 'zeros', body: Buffer.alloc(16 * 1024 * 1024) }]);
  await assert.rejects(readLayers([bomb], keepAll, noInspect, { maxDecompressedBytes: 1024 * 1024 }), (e: unknown) => {
    assert.ok(e instanceof LayerReadError);
    assert.equal(e.digest, 'sha256:bomb');
    assert.equal(e.message, 'layer sha256:bomb: the image decompresses to more than 1048576 bytes');
    return true;
  });
  const half = (d: string) => gzipLayer(d, [{ name: d, body: Buffer.alloc(600 * 1024) }]);
  await assert.rejects(
    readLayers([await half('first'), await half('second')], keepAll, noInspect, { maxDecompressedBytes: 1024 * 1024 }),
    /^LayerReadError: layer second: the image decompresses/,
  );
});

test('malformed layers give a LayerReadError naming the layer', async () => {
  const tar = await tarOf([{ name: 'etc/file', body: 'x'.repeat(3000) }]);
  const gz = gzipSync(tar);
  const badChecksum = Buffer.from(tar);
  badChecksum[0] = 0x41; // the header's checksum no longer matches
  const corruptGzip = Buffer.from(gz);
  corruptGzip.fill(0x55, 20, 40);
  const cases: [string, Buffer, string, RegExp][] = [
    ['garbage', Buffer.alloc(2048, 0x37), MT_TAR, /Invalid tar header/],
    ['truncated-tar', tar.subarray(0, 1000), MT_TAR, /Unexpected end of data/],
    ['bad-checksum', badChecksum, MT_TAR, /Invalid tar header/],
    ['truncated-gzip', gz.subarray(0, gz.length - 30), MT_GZIP, /unexpected end of file/],
    ['corrupt-gzip', corruptGzip, MT_GZIP, /invalid|incorrect/],
    ['garbage-zstd', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08]), Buffer.alloc(100)]), MT_ZSTD, /reserved bit/],
  ];
  for (const [name, bytes, mediaType, problem] of cases) {
    await assert.rejects(readLayers([layer(name, bytes, mediaType, 512)], keepAll, noInspect), (e: unknown) => {
      assert.ok(e instanceof LayerReadError, `${name}: ${String(e)}`);
      assert.ok(e.message.startsWith(`layer ${name}: `), e.message);
      assert.match(e.message, problem);
      return true;
    });
  }
});

test('limits: big files are skipped with a warning, too many entries is an error, other media types are skipped', async () => {
  const select = (path: string): Selection => (path === '/big-inspect' ? 'inspect' : 'keep');
  const l1 = await tarLayer('sha256:l1', [
    { name: 'big', body: Buffer.alloc(2000) },
    { name: 'big-inspect', body: Buffer.alloc(5000) },
    { name: 'small', body: 'ok' },
  ]);
  const attestation: LayerInput = { digest: 'sha256:att', mediaType: 'application/vnd.in-toto+json', open: () => assert.fail('opened') };
  const r = await readLayers([l1, attestation], select, noInspect, { maxKeptFileBytes: 1000, maxInspectFileBytes: 4000 });
  assert.deepEqual(paths(r.tree.list(() => true)), ['/small']);
  assert.deepEqual(r.warnings, [
    'layer sha256:l1: /big has 2000 bytes, over the 1000-byte limit to keep a file; skipped',
    'layer sha256:l1: /big-inspect has 5000 bytes, over the 4000-byte limit to inspect a file; skipped',
    'layer sha256:att: media type application/vnd.in-toto+json is not a filesystem layer; skipped',
  ]);
  await assert.rejects(readLayers([l1], keepAll, noInspect, { maxEntries: 2 }), /^LayerReadError: layer sha256:l1: the image has more than 2 tar entries$/);
});

test('inspect sees one file at a time, and its errors come through unchanged', async () => {
  const l1 = await tarLayer('sha256:l1', [
    { name: 'app/one', body: 'first', mode: 0o755 },
    { name: 'app/two', body: 'second' },
  ]);
  const seen: ImageFile[] = [];
  const r = await readLayers(
    [l1],
    () => 'inspect',
    async (f) => {
      seen.push(f);
      return f.size;
    },
  );
  assert.deepEqual(
    seen.map((f) => [f.path, f.size, f.mode, f.layer, f.content.toString()]),
    [
      ['/app/one', 5, 0o755, 'sha256:l1', 'first'],
      ['/app/two', 6, 0o644, 'sha256:l1', 'second'],
    ],
  );
  assert.deepEqual([...r.inspected], [
    ['/app/one', 5],
    ['/app/two', 6],
  ]);
  assert.deepEqual(r.tree.list(() => true), [], 'inspected files are not kept');
  const boom = new TypeError('boom');
  await assert.rejects(
    readLayers([l1], () => 'inspect', async () => Promise.reject(boom)),
    (e) => e === boom,
  );
});

test('a layer that cannot be opened, and an aborted read', async () => {
  const broken: LayerInput = { digest: 'sha256:gone', mediaType: MT_TAR, open: async () => Promise.reject(new Error('blob missing')) };
  await assert.rejects(readLayers([broken], keepAll, noInspect), /^LayerReadError: layer sha256:gone: cannot be opened: blob missing$/);

  const l1 = await tarLayer('sha256:l1', [
    { name: 'a', body: 'a' },
    { name: 'b', body: 'b' },
  ]);
  const controller = new AbortController();
  const reason = new Error('scan cancelled');
  const aborting = async () => {
    controller.abort(reason);
    return 0;
  };
  await assert.rejects(
    readLayers([l1, l1], () => 'inspect', aborting, undefined, controller.signal),
    (e) => e === reason,
  );
});
