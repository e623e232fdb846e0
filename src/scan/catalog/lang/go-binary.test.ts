import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { goBinaryCataloger, goBinaryPackages } from './go-binary.js';
import { goToolchainSemver, parseModInfo, readGoBuildInfo } from './go-buildinfo.js';
import { parseElf } from './elf.js';
import { buildElf, fixture, goPointerBuildInfo, imageFile } from './test-helpers.js';

/*
 * go/hello-amd64.gz and go/hello-mips.gz were built by Debian's Go 1.19.8
 * from go/src (README.md); go/*.go-version-m.txt is `go version -m` of each,
 * the Go toolchain's own reading of their build info:
 *   mod example.com/berth-fixture (devel)
 *   dep example.com/greet v0.0.0-00010101000000-000000000000 => ./greet (devel)
 *   dep github.com/google/uuid v1.3.0
 *   dep github.com/pkg/errors v0.8.0 => github.com/berth-fixture/errors v0.9.1
 */
const EXPECTED = [
  ['stdlib', 'v1.19.8', 'pkg:golang/stdlib@v1.19.8'],
  ['github.com/google/uuid', 'v1.3.0', 'pkg:golang/github.com/google/uuid@v1.3.0'],
  ['github.com/berth-fixture/errors', 'v0.9.1', 'pkg:golang/github.com/berth-fixture/errors@v0.9.1'],
];

function binary(name: string) {
  return imageFile(`/usr/local/bin/${name}`, gunzipSync(fixture(`go/${name}.gz`)), 0o755);
}

describe('go binaries built by the Go toolchain', () => {
  for (const name of ['hello-amd64', 'hello-mips']) {
    test(`${name}: stdlib, dependencies, replacements; the (devel) main module and local replacement left out`, async () => {
      const file = binary(name);
      assert.equal(goBinaryCataloger.select(file.path, file.size, file.mode), 'inspect');
      const packages = await goBinaryCataloger.inspect!(file);
      assert.deepEqual(packages.map((p) => [p.name, p.version, p.purl]), EXPECTED);
      assert.ok(packages.every((p) => p.type === 'go-module' && p.path === file.path && p.layer === file.layer));
    });
  }

  test('the module info text is what go version -m printed', () => {
    const elf = parseElf(binary('hello-amd64').content);
    const info = elf && readGoBuildInfo(elf);
    assert.equal(info?.goVersion, 'go1.19.8');
    const printed = fixture('go/hello-amd64.go-version-m.txt').toString('utf8');
    // `go version -m` indents each line of the module info with a tab.
    const lines = (info?.modinfo ?? '').split('\n').filter((l) => l.trim());
    for (const line of lines) assert.ok(printed.includes(`\t${line}`), line);
    assert.equal(lines.length, printed.split('\n').filter((l) => l.startsWith('\t') && l.trim()).length);
  });

  test('a non-executable or tiny file is not selected; any executable is', () => {
    assert.equal(goBinaryCataloger.select('/usr/bin/x', 1000, 0o644), undefined);
    assert.equal(goBinaryCataloger.select('/usr/bin/x', 10, 0o755), undefined);
    assert.equal(goBinaryCataloger.select('/usr/bin/x', 1000, 0o100), 'inspect');
  });
});

describe('Go 1.13-1.17 pointer-format build info', () => {
  // Built by goPointerBuildInfo; Go 1.19.8's `go version -m` read each of these layouts back as written (README.md).
  const modinfo = 'path\texample.com/old\nmod\texample.com/old\tv1.2.3\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.8.1\th1:def=\ndep\tgolang.org/x/text\tv0.3.0\n=>\tgithub.com/fork/text\tv0.3.2\th1:ghi=\n';
  for (const bits of [32, 64] as const) {
    for (const littleEndian of [true, false]) {
      for (const sections of [true, false]) {
        test(`ELF${bits} ${littleEndian ? 'LE' : 'BE'} ${sections ? 'with .go.buildinfo' : 'segments only'}`, () => {
          const vaddr = bits === 64 ? 0x500000 : 0x80500000;
          const data = goPointerBuildInfo(bits, littleEndian, vaddr, 'go1.16.15', modinfo);
          const elf = buildElf({
            bits,
            littleEndian,
            segments: [{ vaddr: 0x400000, flags: 5, bytes: Buffer.alloc(64, 0x90) }, { vaddr, flags: 6, bytes: data }],
            sections: sections ? { '.text': 0, '.go.buildinfo': 1 } : undefined,
          });
          const packages = goBinaryPackages(imageFile('/bin/old', elf, 0o755));
          assert.deepEqual(packages.map((p) => `${p.name}@${p.version}`), [
            'stdlib@v1.16.15',
            'example.com/old@v1.2.3',
            'github.com/pkg/errors@v0.8.1',
            'github.com/fork/text@v0.3.2',
          ]);
        });
      }
    }
  }
});

describe('build info text', () => {
  test('toolchain versions as Go vulnerability tooling writes them', () => {
    assert.equal(goToolchainSemver('go1.19.8'), 'v1.19.8');
    assert.equal(goToolchainSemver('go1.20'), 'v1.20.0');
    assert.equal(goToolchainSemver('go1.21rc2'), 'v1.21.0-rc.2');
    assert.equal(goToolchainSemver('go1.22.0 X:nocoverageredesign'), 'v1.22.0');
    assert.equal(goToolchainSemver('devel go1.23-abcdef Tue Jan 2 2024'), undefined);
  });

  test('mod, dep and => lines; others ignored', () => {
    const info = parseModInfo('path\tx\nmod\tx\t(devel)\t\nbuild\tGOOS=linux\ndep\ta\tv1.0.0\th1:x=\n=>\t../a\t\t\ndep\tb\tv2.0.0\n\n');
    assert.deepEqual(info, {
      main: { path: 'x', version: '(devel)' },
      deps: [{ path: 'a', version: 'v1.0.0', replace: { path: '../a', version: '' } }, { path: 'b', version: 'v2.0.0' }],
    });
  });
});

describe('hostile binaries give []', () => {
  const real = binary('hello-amd64').content;
  const cases: [string, Buffer][] = [
    ['not ELF', Buffer.from('#!/bin/sh\necho hello\n'.repeat(10))],
    ['truncated ELF header', real.subarray(0, 40)],
    ['truncated before the build info', real.subarray(0, 0x130000)],
    ['ELF without program headers at their offset', Buffer.concat([real.subarray(0, 64), Buffer.alloc(64)])],
  ];
  for (const [name, bytes] of cases) {
    test(name, () => {
      assert.deepEqual(goBinaryPackages(imageFile('/bin/x', bytes, 0o755)), []);
    });
  }

  test('absurd varint lengths and pointers', () => {
    const inline = Buffer.alloc(64);
    inline.write('\xff Go buildinf:', 0, 'latin1');
    inline[14] = 8;
    inline[15] = 2;
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).copy(inline, 32);
    const pointers = goPointerBuildInfo(64, true, 0x500000, 'go1.16', 'mod\tx\tv1.0.0\n');
    pointers.writeBigUInt64LE(0xffffffffffff0000n, 16);
    for (const data of [inline, pointers]) {
      const elf = buildElf({ bits: 64, littleEndian: true, segments: [{ vaddr: 0x500000, flags: 6, bytes: data }], sections: { '.go.buildinfo': 0 } });
      assert.deepEqual(goBinaryPackages(imageFile('/bin/x', elf, 0o755)), []);
    }
  });

  test('a string length past the segment', () => {
    const data = goPointerBuildInfo(32, false, 0x1000, 'go1.16', 'mod\tx\tv1.0.0\n');
    data.writeUInt32BE(0x7fffffff, 32 + 12); // the module info string's length
    const elf = buildElf({ bits: 32, littleEndian: false, segments: [{ vaddr: 0x1000, flags: 6, bytes: data }] });
    assert.deepEqual(goBinaryPackages(imageFile('/bin/x', elf, 0o755)), []);
  });

  test('a magic that is not 16-byte aligned is not build info', () => {
    const data = Buffer.alloc(96);
    data.write('\xff Go buildinf:', 8, 'latin1');
    const elf = buildElf({ bits: 64, littleEndian: true, segments: [{ vaddr: 0x1000, flags: 6, bytes: data }] });
    assert.deepEqual(goBinaryPackages(imageFile('/bin/x', elf, 0o755)), []);
  });
});
