import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gunzipSync } from 'node:zlib';
import { rustBinaryCataloger, rustBinaryPackages } from './rust-binary.js';
import { buildElf, fixture, imageFile } from './test-helpers.js';

/*
 * rust/hello-auditable.gz is a rustc 1.95 executable with a `.dep-v0`
 * section added by objcopy, holding the zlib-compressed rust/audit.json:
 * the first eight packages of `rust-audit-info /usr/bin/batcat` as printed
 * in Ubuntu's documentation (README.md), `anyhow` among them with
 * `"kind":"build"`.
 */
function auditable() {
  return imageFile('/usr/bin/hello', gunzipSync(fixture('rust/hello-auditable.gz')), 0o755);
}

/** An ELF64 whose `.dep-v0` section holds `bytes`. */
function withSection(bytes: Buffer) {
  return imageFile('/usr/bin/x', buildElf({ bits: 64, littleEndian: true, segments: [{ vaddr: 0x1000, flags: 4, bytes }], sections: { '.dep-v0': 0 } }), 0o755);
}

describe('cargo-auditable binaries', () => {
  test('runtime crates of the embedded dependency tree; build-only ones left out', async () => {
    const file = auditable();
    assert.equal(rustBinaryCataloger.select(file.path, file.size, file.mode), 'inspect');
    const packages = await rustBinaryCataloger.inspect!(file);
    assert.deepEqual(
      packages.map((p) => p.purl),
      [
        'pkg:cargo/adler@1.0.2',
        'pkg:cargo/aho-corasick@1.1.4',
        'pkg:cargo/ansi_colours@1.2.3',
        'pkg:cargo/anstream@0.6.21',
        'pkg:cargo/anstyle@1.0.13',
        'pkg:cargo/anstyle-parse@0.2.7',
        'pkg:cargo/anstyle-query@1.1.4',
      ],
    );
    assert.ok(packages.every((p) => p.type === 'cargo' && p.path === '/usr/bin/hello'));
  });

  test('workspace crates (source "local") are the project\'s own code', () => {
    const json = { packages: [{ name: 'app', version: '0.1.0', source: 'local', root: true }, { name: 'itoa', version: '1.0.1', source: 'crates.io' }] };
    assert.deepEqual(rustBinaryPackages(withSection(deflateSync(JSON.stringify(json)))).map((p) => p.name), ['itoa']);
  });

  test('binaries without audit data give []', () => {
    const go = imageFile('/usr/bin/go', gunzipSync(fixture('go/hello-amd64.gz')), 0o755);
    assert.deepEqual(rustBinaryPackages(go), []);
  });

  test('hostile audit data gives []', () => {
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const cases = [
      Buffer.from('not zlib'),
      deflateSync('{"packages": [1, "x", {"name": 3}]'),
      deflateSync('{"packages": {"name": "a"}}'),
      bomb,
      deflateSync(JSON.stringify({ packages: [{ name: 'a', version: '1' }] })).subarray(0, 10),
    ];
    for (const c of cases) assert.deepEqual(rustBinaryPackages(withSection(c)), []);
  });

  test('a section header pointing past the file gives []', () => {
    const file = withSection(deflateSync('{"packages":[]}'));
    const bytes = Buffer.from(file.content);
    // The last section header is .dep-v0; its sh_size is at offset 32 of the 64-byte entry.
    bytes.writeBigUInt64LE(0xffffffffn, bytes.length - 64 + 32);
    assert.deepEqual(rustBinaryPackages({ ...file, content: bytes }), []);
  });
});
