import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosignTag, cosignTagSubject, taggedSubject } from './cosign-tags.js';

// The scheme as cosign's SIGNATURE_SPEC.md describes it: sha256:<hex> -> sha256-<hex>.sig
const HEX = 'a'.repeat(64);

test('cosign tags name their subject digest', () => {
  assert.equal(cosignTag(`sha256:${HEX}`, 'sig'), `sha256-${HEX}.sig`);
  assert.equal(cosignTag(`sha512:${'b'.repeat(128)}`, 'sig'), undefined);
  for (const kind of ['sig', 'att', 'sbom']) assert.equal(cosignTagSubject(`sha256-${HEX}.${kind}`), `sha256:${HEX}`);
  for (const tag of ['latest', `sha256-${HEX}`, `sha256-${HEX}.sig2`, `sha256-${HEX.slice(1)}.sig`, `sha256-${HEX.toUpperCase()}.sig`]) {
    assert.equal(cosignTagSubject(tag), undefined, tag);
  }
});

test('an image is attached by its tags only when every tag is a cosign tag of one digest', () => {
  const other = 'c'.repeat(64);
  assert.equal(taggedSubject([`sha256-${HEX}.sig`]), `sha256:${HEX}`);
  assert.equal(taggedSubject([`sha256-${HEX}.sig`, `sha256-${HEX}.att`]), `sha256:${HEX}`);
  assert.equal(taggedSubject([`sha256-${HEX}.sig`, 'v1']), undefined);
  assert.equal(taggedSubject([`sha256-${HEX}.sig`, `sha256-${other}.sig`]), undefined);
  assert.equal(taggedSubject([]), undefined);
});
