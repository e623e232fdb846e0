import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from './docs.js';
import { envName, schemaLeaves } from './loader.js';

// Compiled to <out>/src/config/, three levels below the repository root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOCS = join(ROOT, 'docs', 'config.md');

test('docs/config.md is up to date with the schema (regenerate: node dist/src/cli/berth.js config docs > docs/config.md)', async () => {
  const checkedIn = await readFile(DOCS, 'utf8');
  assert.equal(checkedIn, renderConfigDocs());
});

test('docs/config.md documents every leaf key with its environment variable', async () => {
  const checkedIn = await readFile(DOCS, 'utf8');
  for (const leaf of schemaLeaves()) {
    const key = leaf.path.join('.');
    assert.ok(checkedIn.includes(`\`${key}\``), `docs/config.md lacks ${key}`);
    assert.ok(checkedIn.includes(`\`${envName(leaf.path)}\``), `docs/config.md lacks ${envName(leaf.path)}`);
  }
});
