import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/loader.js';
import { parseDuration, parseSize } from '../../src/config/schema.js';

// Units: IEC binary prefixes (KiB = 1024 B) and SI decimal ones (kB = 1000 B), per IEC 80000-13.

test('durations: ms, s, m, h, d and plain seconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration(30), 30_000);
  assert.equal(parseDuration('5 minutes'), undefined);
  assert.equal(parseDuration('-1s'), undefined);
});

test('sizes: IEC and SI units, plain bytes', () => {
  assert.equal(parseSize('50GiB'), 50 * 1024 ** 3);
  assert.equal(parseSize('500MB'), 500_000_000);
  assert.equal(parseSize('1TiB'), 1024 ** 4);
  assert.equal(parseSize('10kib'), 10_240);
  assert.equal(parseSize(4096), 4096);
  assert.equal(parseSize('12 parsecs'), undefined);
});

test('a proxies entry is parsed with its defaults and units', () => {
  const c = validateConfig({
    version: 1,
    proxies: [{ project: 'dockerhub', url: 'https://registry-1.docker.io', dockerHubLibrary: true, manifestTtl: '2s', maxBytes: '1GiB' }],
  });
  assert.deepEqual(c.proxies, [
    { project: 'dockerhub', url: 'https://registry-1.docker.io', dockerHubLibrary: true, manifestTtl: 2000, maxBytes: 1024 ** 3 },
  ]);
  const d = validateConfig({ version: 1, proxies: [{ project: 'ghcr', url: 'https://ghcr.io' }] });
  assert.equal(d.proxies[0]!.manifestTtl, 300_000);
  assert.equal(d.proxies[0]!.dockerHubLibrary, false);
  assert.equal(d.mirror, '');
});

test('bad proxies entries are reported with their key paths', () => {
  assert.throws(
    () =>
      validateConfig({
        version: 1,
        proxies: [
          { project: 'Docker/Hub', url: 'ftp://x', manifestTtl: 'soon' },
          { project: 'q', url: 'https://quay.io', username: 'only-user' },
          { project: 'q', url: 'https://quay.io', maxBytes: 'lots' },
        ],
      }),
    (e: unknown) => {
      const problems = (e as ConfigError).problems.join('\n');
      for (const path of ['proxies.0.project', 'proxies.0.url', 'proxies.0.manifestTtl', 'proxies.2.maxBytes']) {
        assert.match(problems, new RegExp(path.replace(/\./g, '\\.')), problems);
      }
      return e instanceof ConfigError;
    },
  );
  // Cross-field checks run once each entry is valid on its own.
  assert.throws(
    () =>
      validateConfig({
        version: 1,
        proxies: [
          { project: 'q', url: 'https://quay.io', username: 'only-user' },
          { project: 'q', url: 'https://quay.io' },
        ],
      }),
    (e: unknown) => /proxies\.0\.password/.test((e as ConfigError).problems.join()) && /proxies\.1\.project/.test((e as ConfigError).problems.join()),
  );
});
