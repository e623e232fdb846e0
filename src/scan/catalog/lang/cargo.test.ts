import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cargoCataloger, cargoLockPackages } from './cargo.js';
import { fixture, ids, imageFile, memTree, warnings } from './test-helpers.js';
import type { ImageFile } from '../../types.js';

async function run(files: ImageFile[]) {
  const w = warnings();
  const packages = await cargoCataloger.catalog!(memTree(files), undefined, w.warn);
  return { packages, messages: w.messages };
}

describe('Cargo.lock', () => {
  test('v1 (with [metadata] checksums): crates with a source; the root crate without one is left out', async () => {
    // Trivy's fixture; its crates with a `source` line.
    const { packages, messages } = await run([imageFile('/src/Cargo.lock', fixture('cargo/trivy-cargo_normal.lock'))]);
    assert.deepEqual(messages, []);
    assert.deepEqual(ids(packages), [
      'idna@0.1.5',
      'libc@0.2.54',
      'matches@0.1.8',
      'percent-encoding@1.0.1',
      'typemap@0.3.3',
      'unsafe-any@0.4.2',
      'url@1.7.2',
    ]);
    assert.equal(packages.find((p) => p.name === 'libc')?.purl, 'pkg:cargo/libc@0.2.54');
  });

  test('v3: two versions of one crate are two packages', async () => {
    const { packages } = await run([imageFile('/src/Cargo.lock', fixture('cargo/trivy-cargo_v3.lock'))]);
    assert.deepEqual(ids(packages), [
      'aho-corasick@0.7.20',
      'libc@0.2.140',
      'memchr@1.0.2',
      'memchr@2.5.0',
      'regex-syntax@0.5.6',
      'regex-syntax@0.6.29',
      'regex@1.7.3',
      'ucd-util@0.1.10',
    ]);
  });

  test('v4 written by cargo 1.95: registry and git crates; path crates are the project\'s own', async () => {
    // cargo/cargo-tree-v4.txt is `cargo tree` of the same project: app and localdep are path crates.
    const { packages } = await run([imageFile('/src/Cargo.lock', fixture('cargo/Cargo-v4.lock'))]);
    assert.deepEqual(ids(packages), ['cfg-if@1.0.0', 'gitdep@0.1.0', 'itoa@1.0.1']);
    assert.ok(packages.every((p) => p.type === 'cargo' && p.path === '/src/Cargo.lock'));
  });

  test('selects Cargo.lock outside ~/.cargo sources', () => {
    assert.equal(cargoCataloger.select('/app/Cargo.lock', 10, 0o644), 'keep');
    assert.equal(cargoCataloger.select('/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ripgrep-14.1.0/Cargo.lock', 10, 0o644), undefined);
    assert.equal(cargoCataloger.select('/app/Cargo.toml', 10, 0o644), undefined);
  });

  test('the TOML subset: escapes, literal strings, inline arrays, comments', () => {
    const text = [
      'version = 4 # comment',
      '[[package]]',
      'name = "a\\u0062c" # abc',
      "version = '1.0.0'",
      'dependencies = ["x [1]", \'y\'] ',
      '',
      '[[package]]',
      'name = "d"',
      'version = "2.0.0"',
      'source = "git+https://example.com/d#0123"',
      'dependencies = [',
      ' "e",',
      ']',
    ].join('\n');
    assert.deepEqual(
      cargoLockPackages(text).map((t) => Object.fromEntries(t)),
      [{ name: 'abc', version: '1.0.0' }, { name: 'd', version: '2.0.0', source: 'git+https://example.com/d#0123' }],
    );
  });

  const bad: [string, RegExp][] = [
    ['[[package]]\nname = "a', /unterminated string/],
    ['[[package]]\nname = "a\\q"', /bad escape/],
    ['[[package]]\nname = "a"\ndependencies = [\n "b",\n', /unterminated array/],
    ['[[package]]\nname = """a"""', /multi-line strings/],
    ['{"packages": []}', /not a key = value line/],
    ['[[package]]\nname = "a" trailing', /unexpected "trailing"/],
    ['[[package]]\nversion = "1.0.0"\nsource = "registry+x"', /without name or version/],
    ['[[package]\n', /bad table header/],
  ];
  for (const [text, problem] of bad) {
    test(`malformed: ${JSON.stringify(text.slice(0, 40))} gives [] and a warning`, async () => {
      const { packages, messages } = await run([imageFile('/x/Cargo.lock', text)]);
      assert.deepEqual(packages, []);
      assert.equal(messages.length, 1);
      assert.ok(messages[0]?.startsWith('/x/Cargo.lock: '), messages[0]);
      assert.match(messages[0] ?? '', problem);
    });
  }
});
