import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pep503, pythonCataloger } from './python.js';
import { fixture, imageFile, memTree, warnings } from './test-helpers.js';
import type { ImageFile } from '../../types.js';

/*
 * Fixtures are real metadata files of installed distributions (README.md).
 * Names and versions are what Python's importlib.metadata read from them and
 * purl names what packaging.utils.canonicalize_name gives
 * (python/expected-importlib.txt).
 */
const SITE = '/usr/local/lib/python3.11/site-packages';
const DIST = '/usr/lib/python3/dist-packages';

function files(): ImageFile[] {
  return [
    imageFile(`${SITE}/flask-3.1.3.dist-info/METADATA`, fixture('python/site-packages/flask-3.1.3.dist-info/METADATA')),
    imageFile(`${SITE}/mypy_extensions-1.1.0.dist-info/METADATA`, fixture('python/site-packages/mypy_extensions-1.1.0.dist-info/METADATA')),
    imageFile(`${SITE}/backcall-0.2.0.dist-info/METADATA`, fixture('python/site-packages/backcall-0.2.0.dist-info/METADATA')),
    imageFile(`${SITE}/docutils-0.19.dist-info/METADATA`, fixture('python/site-packages/docutils-0.19.dist-info/METADATA')),
    imageFile(`${DIST}/lazr.uri-1.0.6.egg-info/PKG-INFO`, fixture('python/dist-packages/lazr.uri-1.0.6.egg-info/PKG-INFO')),
    // The older single-file form of egg-info holds the same PKG-INFO text.
    imageFile(`${DIST}/six-1.16.0.egg-info`, fixture('python/dist-packages/six-1.16.0.egg-info/PKG-INFO')),
  ];
}

describe('python cataloger', () => {
  test('selects core metadata files only', () => {
    for (const f of files()) assert.equal(pythonCataloger.select(f.path, f.size, f.mode), 'keep', f.path);
    assert.equal(pythonCataloger.select(`${SITE}/flask-3.1.3.dist-info/RECORD`, 10, 0o644), undefined);
    assert.equal(pythonCataloger.select(`${SITE}/flask/__init__.py`, 10, 0o644), undefined);
  });

  test('name, version, PEP 503 purl name and licenses of each distribution', async () => {
    const w = warnings();
    const packages = await pythonCataloger.catalog!(memTree(files()), undefined, w.warn);
    assert.deepEqual(w.messages, []);
    const got = packages.map((p) => [p.name, p.version, p.purl, p.licenses ?? []]);
    // In path order: /usr/lib/... before /usr/local/...
    assert.deepEqual(got, [
      ['lazr.uri', '1.0.6', 'pkg:pypi/lazr-uri@1.0.6', ['LGPL v3']],
      ['six', '1.16.0', 'pkg:pypi/six@1.16.0', ['MIT']],
      ['backcall', '0.2.0', 'pkg:pypi/backcall@0.2.0', ['BSD License']],
      ['docutils', '0.19', 'pkg:pypi/docutils@0.19', ['public domain, Python, 2-Clause BSD, GPL 3 (see COPYING.txt)']],
      ['Flask', '3.1.3', 'pkg:pypi/flask@3.1.3', ['BSD-3-Clause']],
      ['mypy_extensions', '1.1.0', 'pkg:pypi/mypy-extensions@1.1.0', ['MIT']],
    ]);
    assert.ok(packages.every((p) => p.type === 'python'));
    assert.equal(packages[4]?.path, `${SITE}/flask-3.1.3.dist-info/METADATA`);
  });

  test('PEP 503 normalisation', () => {
    // The examples of PEP 503 ("Normalized Names"): all of these name one project.
    for (const n of ['friendly-bard', 'Friendly-Bard', 'FRIENDLY-BARD', 'friendly.bard', 'friendly_bard', 'friendly--bard', 'FrIeNdLy-._.-bArD']) {
      assert.equal(pep503(n), 'friendly-bard', n);
    }
  });

  test('a metadata file without Name or Version gives a warning naming it', async () => {
    const w = warnings();
    const path = `${SITE}/x-1.dist-info/METADATA`;
    const packages = await pythonCataloger.catalog!(memTree([imageFile(path, 'Metadata-Version: 2.1\nName: x\n\nVersion: 1\n')]), undefined, w.warn);
    assert.deepEqual(packages, []);
    assert.deepEqual(w.messages, [`${path}: no Name or Version header`]);
  });

  test('binary garbage is a warning, not a crash', async () => {
    const w = warnings();
    const path = `${SITE}/y-1.dist-info/METADATA`;
    const packages = await pythonCataloger.catalog!(memTree([imageFile(path, Buffer.from([0xff, 0xfe, 0, 1, 2, 10, 10]))]), undefined, w.warn);
    assert.deepEqual(packages, []);
    assert.equal(w.messages.length, 1);
  });
});
