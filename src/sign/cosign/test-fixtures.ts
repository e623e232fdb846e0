/** Test support only: reads files of test/fixtures/cosign/ (found by walking up, so it works from dist/ and .build-*). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    const candidate = join(dir, 'test', 'fixtures', 'cosign');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('test/fixtures/cosign not found above ' + fileURLToPath(import.meta.url));
}

/** The bytes of test/fixtures/cosign/<path>. */
export function fixture(path: string): Buffer {
  return readFileSync(join(fixturesDir(), path));
}

/** The text of test/fixtures/cosign/<path>. */
export function fixtureText(path: string): string {
  return fixture(path).toString('utf8');
}
