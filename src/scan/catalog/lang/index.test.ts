import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { languageCatalogers } from './index.js';

describe('languageCatalogers', () => {
  test('one cataloger per kind of evidence, each named once, each either catalog or inspect', () => {
    const names = languageCatalogers.map((c) => c.name);
    assert.deepEqual(names, ['npm', 'python-metadata', 'ruby-gemspec', 'cargo-lock', 'go-binary', 'rust-binary', 'java-archive']);
    for (const c of languageCatalogers) assert.ok(Boolean(c.catalog) !== Boolean(c.inspect), c.name);
  });

  test('which catalogers take which file', () => {
    const takers = (path: string, size = 1000, mode = 0o644) =>
      languageCatalogers.flatMap((c) => {
        const how = c.select(path, size, mode);
        return how ? [`${c.name}:${how}`] : [];
      });
    assert.deepEqual(takers('/app/package-lock.json'), ['npm:keep']);
    assert.deepEqual(takers('/app/node_modules/@types/ms/package.json'), ['npm:keep']);
    assert.deepEqual(takers('/app/package.json'), []);
    assert.deepEqual(takers('/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO'), ['python-metadata:keep']);
    assert.deepEqual(takers('/usr/local/bundle/specifications/rake-13.0.6.gemspec'), ['ruby-gemspec:keep']);
    assert.deepEqual(takers('/src/Cargo.lock'), ['cargo-lock:keep']);
    assert.deepEqual(takers('/usr/local/bin/app', 5_000_000, 0o755), ['go-binary:inspect', 'rust-binary:inspect']);
    assert.deepEqual(takers('/opt/app.war', 5_000_000), ['java-archive:inspect']);
    assert.deepEqual(takers('/etc/passwd'), []);
  });
});
