/*
 * For the tests beside this file: reads the published version vectors under
 * test/fixtures/versions/ (see its README.md for where each came from) and
 * checks orderings in both directions.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/versions, found by walking up from this file (works from src/ and from a build folder). */
export function vectorsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'test', 'fixtures', 'versions');
    if (existsSync(join(candidate, 'README.md'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('test/fixtures/versions not found above ' + fileURLToPath(import.meta.url));
}

export function readVectorText(name: string): string {
  return readFileSync(join(vectorsDir(), name), 'utf8');
}

export function readVectorJson<T>(name: string): T {
  return JSON.parse(readVectorText(name)) as T;
}

/** Asserts compare(a, b) has the sign of `expected` and compare(b, a) the opposite one. */
export function assertOrder(compare: (a: string, b: string) => number, a: string, b: string, expected: number): void {
  const want = Math.sign(expected);
  assert.equal(Math.sign(compare(a, b)), want, `compare(${JSON.stringify(a)}, ${JSON.stringify(b)}) should be ${want}`);
  assert.equal(Math.sign(compare(b, a)), -want || 0, `compare(${JSON.stringify(b)}, ${JSON.stringify(a)}) should be ${-want || 0}`);
}

/** Asserts compare is antisymmetric on every pair of `versions` (and reflexive). */
export function assertAntisymmetric(compare: (a: string, b: string) => number, versions: Iterable<string>): void {
  const list = [...new Set(versions)];
  for (const a of list) {
    assert.equal(compare(a, a), 0, `compare(${JSON.stringify(a)}, itself) should be 0`);
    for (const b of list) {
      const ab = Math.sign(compare(a, b));
      const ba = Math.sign(compare(b, a));
      assert.equal(ab, -ba || 0, `compare(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${ab} but the reverse is ${ba}`);
    }
  }
}
