import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, envName, loadConfig, parseConfigText, validateConfig } from './loader.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function configFile(text: string): Promise<string> {
  const p = join(dir, `config-${fileCount++}.yaml`);
  await writeFile(p, text);
  return p;
}

/** Runs `fn`, which must throw a ConfigError, and returns its problems. */
async function problemsOf(fn: () => unknown): Promise<string[]> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(e.problems.length > 0, 'a ConfigError lists at least one problem');
    for (const p of e.problems) assert.ok(e.message.includes(p), `message lists problem: ${p}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

/**
 * True when some problem names the key path: either the dotted path itself
 * (`registry.extra`) or its parent path together with the key's name
 * (`registry: unknown key(s) extra`).
 */
function names(problems: string[], path: string): boolean {
  const parts = path.split('.');
  const leaf = parts[parts.length - 1]!;
  const parent = parts.slice(0, -1).join('.');
  return problems.some(
    (p) =>
      new RegExp(`(^|[^\\w.])${escape(path)}($|[^\\w])`).test(p) ||
      (new RegExp(`^${parent === '' ? '\\(root\\)' : escape(parent)}:`).test(p) && new RegExp(`\\b${escape(leaf)}\\b`).test(p)),
  );
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('loadConfig: defaults', () => {
  test('with no file, env or flags every key has its documented default', async () => {
    const c = await loadConfig({ env: {} });
    assert.equal(c.version, 1);
    assert.equal(c.listen, '0.0.0.0:5000');
    assert.equal(c.data, resolve('./data'));
    assert.equal(c.log.level, 'info');
    assert.equal(c.storage.driver, 'filesystem');
    assert.equal(c.metadata.driver, 'sqlite');
    assert.equal(c.registry.delete.enabled, true);
    assert.equal(c.registry.maxManifestBytes, 4 * 1024 * 1024);
    assert.equal(c.registry.pullTimeFlushSeconds, 5);
    assert.equal(c.registry.uploadTimeoutHours, 24);
    assert.equal(c.shutdownTimeoutSeconds, 30);
  });

  test('default storage and database paths live under the data directory', async () => {
    const data = join(dir, 'data-root');
    const c = await loadConfig({ env: {}, flags: { data } });
    assert.equal(c.data, data);
    assert.equal(c.storage.filesystem.root, join(data, 'blobs'));
    assert.equal(c.metadata.sqlite.path, join(data, 'berth.db'));
  });

  test('a relative data directory is made absolute, and so are the paths under it', async () => {
    const c = await loadConfig({ env: {}, flags: { data: 'some/rel' } });
    assert.equal(c.data, resolve('some/rel'));
    assert.equal(c.storage.filesystem.root, join(resolve('some/rel'), 'blobs'));
    assert.equal(c.metadata.sqlite.path, join(resolve('some/rel'), 'berth.db'));
  });

  test('explicit absolute storage and database paths are kept', async () => {
    const root = join(dir, 'elsewhere', 'blobs');
    const db = join(dir, 'elsewhere', 'meta.db');
    const file = await configFile(`version: 1\nstorage:\n  filesystem:\n    root: ${root}\nmetadata:\n  sqlite:\n    path: ${db}\n`);
    const c = await loadConfig({ file, env: {}, flags: { data: join(dir, 'd') } });
    assert.equal(c.storage.filesystem.root, root);
    assert.equal(c.metadata.sqlite.path, db);
  });
});

describe('loadConfig: precedence defaults < file < env < flags', () => {
  test('each layer overrides the one below, key by key, and deep-merges nested sections', async () => {
    const file = await configFile(
      [
        'version: 1',
        'listen: 127.0.0.1:6000',
        'log:',
        '  level: warn',
        'registry:',
        '  delete:',
        '    enabled: false',
        '  maxManifestBytes: 2000000',
        '  uploadTimeoutHours: 2',
        'shutdownTimeoutSeconds: 10',
        '',
      ].join('\n'),
    );
    const env = {
      BERTH_LOG_LEVEL: 'error',
      BERTH_REGISTRY_MAXMANIFESTBYTES: '3000000',
      BERTH_LISTEN: '127.0.0.1:7000',
    };
    const flags = { listen: '127.0.0.1:8000' };

    const fileOnly = await loadConfig({ file, env: {} });
    assert.equal(fileOnly.listen, '127.0.0.1:6000');
    assert.equal(fileOnly.log.level, 'warn');
    assert.equal(fileOnly.registry.maxManifestBytes, 2000000);

    const c = await loadConfig({ file, env, flags });
    assert.equal(c.listen, '127.0.0.1:8000', 'flags beat env and file');
    assert.equal(c.log.level, 'error', 'env beats file');
    assert.equal(c.registry.maxManifestBytes, 3000000, 'env beats file');
    assert.equal(c.registry.delete.enabled, false, 'file beats defaults; a sibling from env does not erase it');
    assert.equal(c.registry.uploadTimeoutHours, 2, 'file beats defaults');
    assert.equal(c.shutdownTimeoutSeconds, 10, 'file beats defaults');
    assert.equal(c.registry.pullTimeFlushSeconds, 5, 'untouched keys keep their defaults');
  });

  test('flags beat env for nested keys too', async () => {
    const c = await loadConfig({ env: { BERTH_LOG_LEVEL: 'error' }, flags: { log: { level: 'debug' } } });
    assert.equal(c.log.level, 'debug');
  });

  test('the file can be named by BERTH_CONFIG in the environment', async () => {
    const file = await configFile('version: 1\nlog:\n  level: trace\n');
    const c = await loadConfig({ env: { BERTH_CONFIG: file } });
    assert.equal(c.log.level, 'trace');
  });

  test('an empty file means defaults', async () => {
    const file = await configFile('');
    const c = await loadConfig({ file, env: {} });
    assert.equal(c.log.level, 'info');
  });

  test('a file that cannot be read is a ConfigError naming it', async () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const problems = await problemsOf(() => loadConfig({ file: missing, env: {} }));
    assert.ok(problems.some((p) => p.includes(missing)), problems.join('\n'));
  });
});

describe('loadConfig: environment', () => {
  test('env names are BERTH_ + the upper-cased key path', () => {
    assert.equal(envName(['storage', 'filesystem', 'root']), 'BERTH_STORAGE_FILESYSTEM_ROOT');
    assert.equal(envName(['registry', 'delete', 'enabled']), 'BERTH_REGISTRY_DELETE_ENABLED');
    assert.equal(envName(['registry', 'maxManifestBytes']), 'BERTH_REGISTRY_MAXMANIFESTBYTES');
  });

  test('booleans are coerced from env strings', async () => {
    for (const [raw, want] of [
      ['false', false],
      ['true', true],
      ['FALSE', false],
      ['0', false],
      ['1', true],
    ] as const) {
      const c = await loadConfig({ env: { BERTH_REGISTRY_DELETE_ENABLED: raw } });
      assert.equal(c.registry.delete.enabled, want, `BERTH_REGISTRY_DELETE_ENABLED=${raw}`);
    }
  });

  test('numbers are coerced from env strings', async () => {
    const c = await loadConfig({
      env: {
        BERTH_REGISTRY_MAXMANIFESTBYTES: '8388608',
        BERTH_SHUTDOWNTIMEOUTSECONDS: '2.5',
        BERTH_REGISTRY_PULLTIMEFLUSHSECONDS: '0.5',
      },
    });
    assert.equal(c.registry.maxManifestBytes, 8388608);
    assert.equal(c.shutdownTimeoutSeconds, 2.5);
    assert.equal(c.registry.pullTimeFlushSeconds, 0.5);
  });

  test('strings and paths come through as given', async () => {
    const data = join(dir, 'env-data');
    const c = await loadConfig({ env: { BERTH_DATA: data, BERTH_LISTEN: '[::1]:0', BERTH_LOG_LEVEL: 'silent' } });
    assert.equal(c.data, data);
    assert.equal(c.listen, '[::1]:0');
    assert.equal(c.log.level, 'silent');
    assert.equal(c.storage.filesystem.root, join(data, 'blobs'));
  });

  test('env values that do not fit the type are problems naming the key path', async () => {
    const problems = await problemsOf(() =>
      loadConfig({
        env: {
          BERTH_REGISTRY_DELETE_ENABLED: 'maybe',
          BERTH_REGISTRY_MAXMANIFESTBYTES: 'lots',
          BERTH_LOG_LEVEL: 'loud',
        },
      }),
    );
    for (const path of ['registry.delete.enabled', 'registry.maxManifestBytes', 'log.level']) {
      assert.ok(names(problems, path), `no problem names ${path}:\n${problems.join('\n')}`);
    }
  });

  test('unrelated environment variables are ignored', async () => {
    const c = await loadConfig({ env: { PATH: '/usr/bin', BERTH_NOT_A_KEY: 'x', HOME: '/root' } });
    assert.equal(c.log.level, 'info');
  });
});

describe('validation: every problem with its key path', () => {
  test('unknown keys and wrong types at every level are all reported in one ConfigError', async () => {
    const file = await configFile(
      [
        'version: 1',
        'bogus: 1', // unknown top-level key
        'listen: 5000', // wrong type
        'log:',
        '  level: loud', // not an allowed value
        'registry:',
        '  extra: true', // unknown nested key
        '  delete:',
        '    enabled: "yes"', // wrong type (a string)
        '    enable: false', // unknown nested key (a typo that would silently keep deletion on)
        '  maxManifestBytes: 10', // below the minimum
        'storage:',
        '  filesystem:',
        '    rooot: /x', // unknown nested key
        'shutdownTimeoutSeconds: -1', // below the minimum
        '',
      ].join('\n'),
    );
    const problems = await problemsOf(() => loadConfig({ file, env: {} }));
    const expected = [
      'bogus',
      'listen',
      'log.level',
      'registry.extra',
      'registry.delete.enabled',
      'registry.delete.enable',
      'registry.maxManifestBytes',
      'storage.filesystem.rooot',
      'shutdownTimeoutSeconds',
    ];
    const unnamed = expected.filter((path) => !names(problems, path));
    assert.deepEqual(unnamed, [], `problems reported:\n${problems.join('\n')}`);
  });

  test('validateConfig reports wrong types with their key paths', () => {
    let problems: string[] = [];
    try {
      validateConfig({ version: 1, data: '', registry: { pullTimeFlushSeconds: 'soon' }, metadata: { driver: 'oracle' } });
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      problems = e.problems;
    }
    for (const path of ['data', 'registry.pullTimeFlushSeconds', 'metadata.driver']) {
      assert.ok(names(problems, path), `no problem names ${path}:\n${problems.join('\n')}`);
    }
  });

  test('a file without version is refused', async () => {
    const file = await configFile('log:\n  level: debug\n');
    const problems = await problemsOf(() => loadConfig({ file, env: {} }));
    assert.ok(problems.some((p) => p.includes('version')), problems.join('\n'));
  });

  test('version 2 is refused, from a file, from parsed text, from the tree and from the environment', async () => {
    const file = await configFile('version: 2\n');
    assert.ok((await problemsOf(() => loadConfig({ file, env: {} }))).some((p) => p.includes('version')));
    assert.ok((await problemsOf(() => parseConfigText('version: 2\n', 'inline.yaml'))).some((p) => p.includes('version')));
    assert.ok((await problemsOf(() => validateConfig({ version: 2 }))).some((p) => p.includes('version')));
    assert.ok((await problemsOf(() => loadConfig({ env: { BERTH_VERSION: '2' } }))).some((p) => p.includes('version')));
  });

  test('text that is not YAML, or not a mapping, is refused naming its source', async () => {
    for (const text of ['version: 1\nlog: [unclosed\n', '- a\n- b\n', '"just a string"\n']) {
      const problems = await problemsOf(() => parseConfigText(text, 'broken.yaml'));
      assert.ok(problems.some((p) => p.includes('broken.yaml')), problems.join('\n'));
    }
  });

  test('a valid file parses to the values it states', () => {
    const c = validateConfig(parseConfigText('version: 1\nregistry:\n  delete:\n    enabled: false\n', 'ok.yaml'));
    assert.equal(c.registry.delete.enabled, false);
    assert.equal(c.registry.maxManifestBytes, 4 * 1024 * 1024);
  });
});
