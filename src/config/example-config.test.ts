import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText, schemaLeaves, validateConfig } from './loader.js';
import { ConfigSchema } from './schema.js';

/**
 * berth.example.yaml at the repository root is parsed here so it cannot rot:
 * it must be valid, state every default exactly, and name every key of the
 * schema. Keys without a default (paths derived from `data`) are written as
 * commented-out settings: a "#" in the first column in front of the YAML line.
 */
// Compiled to <out>/src/config/, three levels below the repository root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXAMPLE = join(ROOT, 'berth.example.yaml');

type Tree = Record<string, unknown>;

function at(tree: unknown, path: string[]): unknown {
  let cur = tree;
  for (const k of path) cur = cur !== null && typeof cur === 'object' ? (cur as Tree)[k] : undefined;
  return cur;
}

const defaults = ConfigSchema.parse({}) as Tree;
const leaves = schemaLeaves();
const keyNames = new Set(leaves.flatMap((l) => l.path));

/** Removes the first-column "#" of commented-out settings (lines "#<indent><schema key>:"). */
function uncomment(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^#(\s+)([A-Za-z_]\w*):/.exec(line);
      return m && keyNames.has(m[2]!) ? line.slice(1) : line;
    })
    .join('\n');
}

test('berth.example.yaml is a valid config that states exactly the defaults', async () => {
  const text = await readFile(EXAMPLE, 'utf8');
  const cfg = validateConfig(parseConfigText(text, EXAMPLE));
  assert.deepEqual(cfg, defaults);
});

test('berth.example.yaml names every leaf key of the schema with its default', async () => {
  const text = await readFile(EXAMPLE, 'utf8');
  const active = parseConfigText(text, EXAMPLE);
  const all = parseConfigText(uncomment(text), EXAMPLE);
  // The commented-out settings must be valid too, once uncommented.
  validateConfig(all);
  assert.ok(leaves.length > 5, 'schemaLeaves() lists the schema');
  const missing: string[] = [];
  for (const leaf of leaves) {
    const key = leaf.path.join('.');
    const def = at(defaults, leaf.path);
    if (at(all, leaf.path) === undefined) {
      missing.push(key);
      continue;
    }
    if (def !== undefined) assert.deepEqual(at(active, leaf.path), def, `${key} is stated with its default`);
    else assert.equal(at(active, leaf.path), undefined, `${key} has no default, so it stays commented out`);
  }
  assert.deepEqual(missing, [], 'keys of src/config/schema.ts missing from berth.example.yaml');
});

test('every key in berth.example.yaml has a comment above it', async () => {
  const lines = (await readFile(EXAMPLE, 'utf8')).split('\n');
  const leafNames = new Set(leaves.map((l) => l.path[l.path.length - 1]!));
  for (const [i, line] of lines.entries()) {
    const m = /^#?\s*([A-Za-z_]\w*):/.exec(line);
    if (!m || !leafNames.has(m[1]!) || (line.startsWith('#') && !keyNames.has(m[1]!))) continue;
    // Walk up over commented-out parent lines ("#  filesystem:") to the prose comment.
    let j = i - 1;
    while (j >= 0 && /^#\s+[A-Za-z_]\w*:\s*$/.test(lines[j]!)) j--;
    assert.match(lines[j] ?? '', /^\s*# \S/, `line ${i + 1} (${m[1]}) has no comment above it`);
  }
});
