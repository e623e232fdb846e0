/*
 * YAML lockfiles (pnpm-lock.yaml, Yarn Berry's yarn.lock) parsed with the
 * `yaml` library under the limits a hostile file needs: every scalar stays a
 * string (failsafe schema: no `1.10` read as a number), aliases are bounded
 * against expansion bombs, the duplicate-key check (quadratic in the number
 * of keys of a map) is off, and nesting is checked before parsing, since the
 * parser recurses per level and a few megabytes of `[[[[` take it tens of
 * seconds to fail. Real lockfiles nest a handful of levels deep.
 */
import { parse } from 'yaml';
import type { ImageFile } from '../../types.js';
import { LangCatalogError, textOf } from './lang-package.js';

const MAX_FLOW_DEPTH = 64;
const MAX_INDENT = 256;

/** Why the text is refused before parsing, or undefined. Brackets inside strings count too: lockfiles have none. */
function shapeProblem(text: string): string | undefined {
  let depth = 0;
  let indent = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      atLineStart = true;
      indent = 0;
      continue;
    }
    if (atLineStart && c === 0x20) {
      if (++indent > MAX_INDENT) return `indented more than ${MAX_INDENT} columns`;
      continue;
    }
    atLineStart = false;
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_FLOW_DEPTH) return `flow collections nested more than ${MAX_FLOW_DEPTH} deep`;
    } else if (c === 0x5d || c === 0x7d) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** The lockfile's YAML as plain data; throws LangCatalogError when it is refused or not YAML. */
export function parseLockfileYaml(file: ImageFile): unknown {
  const text = textOf(file);
  const problem = shapeProblem(text);
  if (problem) throw new LangCatalogError(file.path, `not a lockfile (${problem})`);
  try {
    return parse(text, { schema: 'failsafe', uniqueKeys: false, maxAliasCount: 100 });
  } catch (err) {
    throw new LangCatalogError(file.path, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
}
