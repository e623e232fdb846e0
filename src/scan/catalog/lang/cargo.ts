/*
 * Crates locked in Cargo.lock. Every lockfile version (v1 with its
 * `[metadata]` checksums, v2, and v3/v4 with a top-level `version`) lists
 * each resolved crate as a `[[package]]` table of `name`, `version`, `source`,
 * `checksum` and a `dependencies` array. Cargo writes a small subset of TOML,
 * and that subset is what the reader below accepts: `key = value` lines with
 * bare or basic-quoted keys, basic and literal strings, integers, and arrays
 * that may span lines; anything else fails the file. Crates without a
 * `source` are workspace and path crates, the project's own code: they are
 * left out, as a local crate of a registry crate's name would otherwise draw
 * its advisories. Cargo.lock has no dev marking, so every crate is kept.
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { baseName, catalogFiles, FoundPackages, LangCatalogError, MAX_LOCKFILE_SIZE, textOf } from './lang-package.js';

const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };

interface Cursor {
  line: string;
  at: number;
}

/** A basic string starting at the opening quote; moves past the closing one. Throws on an unterminated string or bad escape. */
function basicString(c: Cursor): string {
  let out = '';
  for (c.at++; c.at < c.line.length; c.at++) {
    const ch = c.line[c.at] as string;
    if (ch === '"') {
      c.at++;
      return out;
    }
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = c.line[++c.at] ?? '';
    if (e === 'u' || e === 'U') {
      const digits = c.line.slice(c.at + 1, c.at + 1 + (e === 'u' ? 4 : 8));
      const code = /^[0-9a-fA-F]+$/.test(digits) ? parseInt(digits, 16) : NaN;
      if (digits.length !== (e === 'u' ? 4 : 8) || !(code <= 0x10ffff)) throw new Error('bad unicode escape');
      out += String.fromCodePoint(code);
      c.at += digits.length;
    } else if (ESCAPES[e] !== undefined) {
      out += ESCAPES[e];
    } else {
      throw new Error(`bad escape \\${e}`);
    }
  }
  throw new Error('unterminated string');
}

/** A literal string starting at the opening quote. */
function literalString(c: Cursor): string {
  const end = c.line.indexOf("'", c.at + 1);
  if (end < 0) throw new Error('unterminated string');
  const value = c.line.slice(c.at + 1, end);
  c.at = end + 1;
  return value;
}

/** Moves through array text, skipping strings; returns the bracket depth after this line. */
function scanArray(c: Cursor, depth: number): number {
  while (c.at < c.line.length) {
    const ch = c.line[c.at];
    if (ch === '"') basicString(c);
    else if (ch === "'") literalString(c);
    else if (ch === '#') break;
    else {
      if (ch === '[') depth++;
      else if (ch === ']' && --depth === 0) {
        c.at++;
        return 0;
      }
      c.at++;
    }
  }
  return depth;
}

/** Only whitespace or a comment may follow a value. */
function expectEnd(c: Cursor): void {
  const rest = c.line.slice(c.at).trim();
  if (rest !== '' && !rest.startsWith('#')) throw new Error(`unexpected "${rest.slice(0, 20)}"`);
}

/** One `[[package]]` table: key -> string value. */
type Table = Map<string, string>;

/**
 * The `[[package]]` tables of a Cargo.lock as key -> string value (arrays
 * and other tables skipped). Throws Error naming the problem on text
 * outside the subset.
 */
export function cargoLockPackages(text: string): Table[] {
  const packages: Table[] = [];
  let current: Table | undefined;
  let arrayDepth = 0;
  for (const line of text.split('\n')) {
    const c: Cursor = { line, at: 0 };
    if (arrayDepth > 0) {
      arrayDepth = scanArray(c, arrayDepth);
      if (arrayDepth === 0) expectEnd(c);
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith('[')) {
      if (!/^(?:\[\[[A-Za-z0-9_.\-" ]+\]\]|\[[A-Za-z0-9_.\-" ]+\])\s*(?:#.*)?$/.test(trimmed)) throw new Error(`bad table header "${trimmed.slice(0, 40)}"`);
      current = /^\[\[\s*package\s*\]\]/.test(trimmed) ? new Map() : undefined;
      if (current) packages.push(current);
      continue;
    }
    c.at = line.length - line.trimStart().length;
    let key: string;
    if (line[c.at] === '"') key = basicString(c);
    else {
      const m = /^[A-Za-z0-9_.-]+/.exec(line.slice(c.at));
      if (!m) throw new Error(`not a key = value line: "${trimmed.slice(0, 40)}"`);
      key = m[0];
      c.at += key.length;
    }
    const eq = /^\s*=\s*/.exec(line.slice(c.at));
    if (!eq) throw new Error(`not a key = value line: "${trimmed.slice(0, 40)}"`);
    c.at += eq[0].length;
    const first = line[c.at];
    let value: string | undefined;
    if (first === '"') {
      if (line.startsWith('"""', c.at)) throw new Error('multi-line strings are not used in Cargo.lock');
      value = basicString(c);
    } else if (first === "'") {
      value = literalString(c);
    } else if (first === '[') {
      arrayDepth = scanArray(c, 0);
    } else {
      const m = /^[A-Za-z0-9_.+-]+/.exec(line.slice(c.at));
      if (!m) throw new Error(`unsupported value for ${key}`);
      value = m[0];
      c.at += m[0].length;
    }
    if (arrayDepth === 0) expectEnd(c);
    if (current && value !== undefined) current.set(key, value);
  }
  if (arrayDepth > 0) throw new Error('unterminated array');
  return packages;
}

/** Crates with a source in one Cargo.lock. Throws LangCatalogError when the file is not a Cargo.lock. */
export function parseCargoLock(file: ImageFile): Package[] {
  let tables: Table[];
  try {
    tables = cargoLockPackages(textOf(file));
  } catch (err) {
    throw new LangCatalogError(file.path, `not a Cargo.lock (${(err as Error).message})`);
  }
  const found = new FoundPackages(file, 'cargo');
  for (const t of tables) {
    const name = t.get('name');
    const version = t.get('version');
    if (!name || !version) throw new LangCatalogError(file.path, 'a [[package]] without name or version');
    if (t.get('source')) found.add({ name, version });
  }
  return found.list();
}

/** Crate sources and git checkouts under ~/.cargo carry their authors' lockfiles, not what was built here. */
function isCargoLock(path: string): boolean {
  return baseName(path) === 'Cargo.lock' && !/\/\.cargo\/(registry|git)\//.test(path);
}

/** Rust projects' Cargo.lock files. */
export const cargoCataloger: Cataloger = {
  name: 'cargo-lock',
  select: (path, size) => (isCargoLock(path) && size <= MAX_LOCKFILE_SIZE ? 'keep' : undefined),
  catalog: async (tree, _os, warn) => catalogFiles(tree, isCargoLock, warn, parseCargoLock),
};
