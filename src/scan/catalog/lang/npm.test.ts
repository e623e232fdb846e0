import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { npmCataloger } from './npm.js';
import { pnpmKey } from './pnpm-lock.js';
import { FIXTURES, fixture, ids, imageFile, memTree, warnings } from './test-helpers.js';
import type { ImageFile } from '../../types.js';

/*
 * The fixtures under npm/ were produced by the real tools from one project
 * (npm/project, README.md): npm 11.19.1, Yarn 1.22.22 and 4.18.1, pnpm
 * 7.33.7, 8.15.9 and 9.15.9. The expected production set is what
 * `npm ls --all --omit=dev` printed for the installed tree
 * (npm/npm-ls-omit-dev.txt), less the workspace package local-lib.
 */
const PRODUCTION = [
  '@types/ms@0.7.34',
  'debug@2.6.9',
  'function-bind@1.1.2',
  'has-flag@3.0.0',
  'hasown@2.0.4',
  'is-core-module@2.18.0',
  'ms@0.7.3',
  'ms@2.0.0',
  'ms@2.1.3',
  'once@1.4.0',
  'path-parse@1.0.7',
  'resolve@1.22.8',
  'supports-color@5.5.0',
  'supports-preserve-symlinks-flag@1.0.0',
  'wrappy@1.0.2',
];
/** Yarn lockfiles do not mark development dependencies: is-number (a devDependency) is locked like the rest. */
const ALL = [...PRODUCTION, 'is-number@7.0.0'].sort();

async function catalog(files: ImageFile[]) {
  const w = warnings();
  const packages = await npmCataloger.catalog!(memTree(files), undefined, w.warn);
  return { packages, messages: w.messages };
}

async function lockfile(fixtureName: string, imagePath: string) {
  return catalog([imageFile(imagePath, fixture(`npm/${fixtureName}`))]);
}

describe('npm lockfiles', () => {
  const cases: [string, string, string[]][] = [
    ['package-lock-v1.json', '/app/package-lock.json', PRODUCTION],
    ['package-lock-v2.json', '/app/package-lock.json', PRODUCTION],
    ['package-lock-v3.json', '/app/npm-shrinkwrap.json', PRODUCTION],
    ['yarn-v1.lock', '/app/yarn.lock', ALL],
    ['yarn-berry.lock', '/app/yarn.lock', ALL],
    ['pnpm-lock-v5.yaml', '/app/pnpm-lock.yaml', PRODUCTION],
    ['pnpm-lock-v6.yaml', '/app/pnpm-lock.yaml', PRODUCTION],
    ['pnpm-lock-v9.yaml', '/app/pnpm-lock.yaml', PRODUCTION],
  ];
  for (const [name, path, expected] of cases) {
    test(`${name}: the locked packages, without dev-only ones where the format marks them`, async () => {
      const { packages, messages } = await lockfile(name, path);
      assert.deepEqual(messages, []);
      assert.deepEqual(ids(packages), expected);
      for (const p of packages) {
        assert.equal(p.type, 'npm');
        assert.equal(p.path, path);
        assert.equal(p.layer, imageFile(path, '').layer);
      }
    });
  }

  test('purls follow purl-spec npm: the scope is the namespace, with @ percent-encoded; an alias is its real package', async () => {
    const { packages } = await lockfile('package-lock-v3.json', '/app/package-lock.json');
    const purls = packages.map((p) => p.purl).sort();
    assert.ok(purls.includes('pkg:npm/%40types/ms@0.7.34'), purls.join());
    assert.ok(purls.includes('pkg:npm/ms@0.7.3'), 'alias ms-old -> ms@0.7.3');
    assert.ok(purls.includes('pkg:npm/debug@2.6.9'));
  });

  test('a v3 lockfile with workspaces: nested node_modules of a workspace count, workspace folders and links do not', async () => {
    // Trivy's test fixture; the packages follow from its keys as npm's package-lock docs define them.
    const { packages } = await lockfile('trivy/package-lock_v3_with_workspace.json', '/srv/package-lock.json');
    assert.deepEqual(ids(packages), ['debug@2.5.2', 'debug@2.6.9', 'ms@0.7.2', 'ms@2.0.0']);
  });

  test('lockfiles inside node_modules are a published package\'s own and are not selected', () => {
    assert.equal(npmCataloger.select('/app/node_modules/foo/yarn.lock', 100, 0o644), undefined);
    assert.equal(npmCataloger.select('/app/node_modules/foo/package-lock.json', 100, 0o644), undefined);
    assert.equal(npmCataloger.select('/app/yarn.lock', 100, 0o644), 'keep');
    assert.equal(npmCataloger.select('/app/pnpm-lock.yaml', 64 * 1024 * 1024, 0o644), undefined);
  });
});

/** Every package.json under npm/node-modules, at /app/node_modules/... as npm installed them. */
function installedTree(): ImageFile[] {
  const files: ImageFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(FIXTURES + dir)) {
      const rel = `${dir}/${name}`;
      if (statSync(FIXTURES + rel).isDirectory()) walk(rel);
      else files.push(imageFile('/app' + rel.replace(/^npm/, '').replace(/node-modules/g, 'node_modules'), fixture(rel)));
    }
  };
  walk('npm/node-modules');
  return files;
}

describe('installed packages (node_modules/**/package.json)', () => {
  test('every package npm installed, dev ones included (they are on disk), and none of the test fixtures packages ship', async () => {
    const files = installedTree();
    const selected = files.filter((f) => npmCataloger.select(f.path, f.size, f.mode) === 'keep');
    assert.equal(files.length, 29);
    assert.equal(selected.length, 16);
    const { packages, messages } = await catalog(selected);
    assert.deepEqual(messages, []);
    assert.deepEqual(ids(packages), ALL);
    const ms = packages.find((p) => p.path === '/app/node_modules/ms-old/package.json');
    assert.equal(ms?.purl, 'pkg:npm/ms@0.7.3');
    assert.deepEqual(ms?.licenses, ['MIT']);
  });

  test('a package.json without name or version gives nothing; one that is not JSON gives a warning', async () => {
    const { packages, messages } = await catalog([
      imageFile('/a/node_modules/x/package.json', '{"type":"module"}'),
      imageFile('/a/node_modules/y/package.json', '{"name": "y", "version": '),
      imageFile('/a/node_modules/z/package.json', '[1, 2]'),
    ]);
    assert.deepEqual(packages, []);
    assert.equal(messages.length, 2);
    assert.match(messages[0] ?? '', /^\/a\/node_modules\/y\/package.json: not valid JSON/);
    assert.match(messages[1] ?? '', /^\/a\/node_modules\/z\/package.json: not a JSON object/);
  });
});

describe('pnpm package keys', () => {
  test('v5, v6 and v9 key forms, with peer suffixes', () => {
    assert.deepEqual(pnpmKey('/debug/2.6.9_supports-color@5.5.0', 5), { name: 'debug', version: '2.6.9' });
    assert.deepEqual(pnpmKey('/@types/ms/0.7.34', 5), { name: '@types/ms', version: '0.7.34' });
    assert.deepEqual(pnpmKey('/debug@2.6.9(supports-color@5.5.0)', 6), { name: 'debug', version: '2.6.9' });
    assert.deepEqual(pnpmKey('@types/ms@0.7.34', 9), { name: '@types/ms', version: '0.7.34' });
    assert.equal(pnpmKey('github.com/user/repo/0123abcd', 5), undefined);
    assert.equal(pnpmKey('@types', 9), undefined);
  });
});

describe('hostile and malformed lockfiles', () => {
  const bad: [string, string, RegExp][] = [
    ['/p/package-lock.json', '{"lockfileVersion": 3, "packages": ', /not valid JSON/],
    ['/p/package-lock.json', '{"name": "x"}', /no lockfileVersion/],
    ['/p/pnpm-lock.yaml', 'lockfileVersion: [', /not valid YAML/],
    ['/p/pnpm-lock.yaml', 'packages: {}\n', /no lockfileVersion/],
    ['/p/yarn.lock', '# yarn lockfile v1\nthis is not yarn\n', /not a yarn.lock/],
    ['/p/yarn.lock', '__metadata:\n  version: 8\n"a@npm:1": [\n', /not valid YAML/],
    ['/p/pnpm-lock.yaml', `lockfileVersion: '6.0'\npackages: ${'['.repeat(100_000)}`, /nested more than 64 deep/],
    ['/p/yarn.lock', `__metadata:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')}`, /indented more than 256 columns/],
  ];
  for (const [path, text, problem] of bad) {
    test(`${path}: ${JSON.stringify(text.slice(0, 30))} gives [] and a warning`, async () => {
      const { packages, messages } = await catalog([imageFile(path, text)]);
      assert.deepEqual(packages, []);
      assert.equal(messages.length, 1);
      assert.ok(messages[0]?.startsWith(`${path}: `), messages[0]);
      assert.match(messages[0] ?? '', problem);
    });
  }

  test('a YAML alias bomb is refused, not expanded', async () => {
    const lines = ['lockfileVersion: "6.0"', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const { packages, messages } = await catalog([imageFile('/p/pnpm-lock.yaml', lines.join('\n'))]);
    assert.deepEqual(packages, []);
    assert.match(messages[0] ?? '', /not valid YAML/);
  });

  test('a large lockfile is read in linear time (the parser\'s quadratic duplicate-key check is off)', { timeout: 60_000 }, async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => `  /p${i}@1.0.${i}:\n    resolution: {integrity: sha512-x}\n    dev: false\n`);
    const { packages } = await catalog([imageFile('/p/pnpm-lock.yaml', `lockfileVersion: '6.0'\npackages:\n${entries.join('\n')}`)]);
    assert.equal(packages.length, 10_000);
  });

  test('entries of the wrong shape are skipped, not trusted', async () => {
    const lock = { lockfileVersion: 3, packages: { '': {}, 'node_modules/a': 'x', 'node_modules/b': { version: 7 }, 'node_modules/c': { version: '1.0.0' } } };
    const v1 = { lockfileVersion: 1, dependencies: { a: { version: 'git+https://x/y.git#abc' }, b: { version: 'file:../b' }, c: { version: '2.0.0', dependencies: 'x' } } };
    const { packages, messages } = await catalog([
      imageFile('/p/package-lock.json', JSON.stringify(lock)),
      imageFile('/q/package-lock.json', JSON.stringify(v1)),
    ]);
    assert.deepEqual(messages, []);
    assert.deepEqual(ids(packages), ['c@1.0.0', 'c@2.0.0']);
  });

  test('a pnpm v9 dependency cycle is walked once', async () => {
    const text = [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      '    dependencies:',
      '      a: {specifier: ^1.0.0, version: 1.0.0}',
      'packages:',
      '  a@1.0.0: {}',
      '  b@2.0.0: {}',
      'snapshots:',
      '  a@1.0.0:',
      '    dependencies: {b: 2.0.0}',
      '  b@2.0.0:',
      '    dependencies: {a: 1.0.0}',
    ].join('\n');
    const { packages } = await catalog([imageFile('/p/pnpm-lock.yaml', text)]);
    assert.deepEqual(ids(packages), ['a@1.0.0', 'b@2.0.0']);
  });
});
