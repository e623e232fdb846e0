import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predicateTypeOf, readPredicate } from './attest.js';

describe('attest inputs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-attest-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("--type: cosign's names (cmd/cosign/cli/options/predicate.go) and URIs; anything else is refused", () => {
    assert.equal(predicateTypeOf('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(predicateTypeOf('spdxjson'), 'https://spdx.dev/Document');
    assert.equal(predicateTypeOf('cyclonedx'), 'https://cyclonedx.org/bom');
    assert.equal(predicateTypeOf('https://example.com/predicate/v1'), 'https://example.com/predicate/v1');
    assert.throws(() => predicateTypeOf('not a type'), /^SigningInputError: --type: invalid predicate type: "not a type"; use custom, slsaprovenance/);
  });

  test('a JSON predicate must be an object; custom wraps any text with the signing time', async () => {
    await writeFile(join(dir, 'p.json'), '{"builder":{"id":"https://example.com/b"}}');
    await writeFile(join(dir, 'list.json'), '[1]');
    await writeFile(join(dir, 'text'), 'free text');
    assert.deepEqual(await readPredicate(join(dir, 'p.json'), 'https://slsa.dev/provenance/v0.2'), { builder: { id: 'https://example.com/b' } });
    await assert.rejects(readPredicate(join(dir, 'list.json'), 'https://slsa.dev/provenance/v0.2'), /predicate .*list\.json must be a JSON object/);
    await assert.rejects(readPredicate(join(dir, 'text'), 'https://cyclonedx.org/bom'), /predicate .*text is not JSON/);
    const custom = await readPredicate(join(dir, 'text'), 'https://cosign.sigstore.dev/attestation/v1');
    assert.equal(custom.Data, 'free text');
    assert.match(String(custom.Timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });
});
