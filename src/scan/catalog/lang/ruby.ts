/*
 * Installed gems: RubyGems writes a Ruby specification for each installed gem
 * to `<gem home>/specifications/<name>-<version>.gemspec` (default gems of
 * the Ruby itself under `specifications/default/`). The file is Ruby, which
 * is not run here: the reader takes the block variable of
 * `Gem::Specification.new do |s|` and the literal assigned to its `name`,
 * `version` (also `Gem::Version.new(...)`) and `licenses`/`license`, with
 * "..", '..' and %q{..} strings and an optional `.freeze`. Assignments to
 * another variable than the block's are not the spec's (Ruby would fail on
 * them too).
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { catalogFiles, FoundPackages, LangCatalogError, MAX_METADATA_SIZE, textOf } from './lang-package.js';

/** One Ruby string literal on one line, as a regular expression source with one capture group per form. */
const STRING = String.raw`(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|%q\{([^}\n]*)\}|%q<([^>\n]*)>|%q\(([^)\n]*)\))(?:\.freeze)?`;

function literal(m: RegExpExecArray | null): string | undefined {
  if (!m) return undefined;
  for (let i = 1; i <= 5; i++) if (m[i] !== undefined) return m[i]?.replace(/\\(.)/g, '$1');
  return undefined;
}

/** The closing delimiter of each %q form. */
const Q_CLOSE: Record<string, string> = { '{': '}', '<': '>', '(': ')' };

/**
 * The string literals of one line, left to right, in one pass (a regular
 * expression retried at every quote would be quadratic on a hostile line);
 * stops at an unterminated literal or after `max` of them.
 */
function stringLiterals(line: string, max: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length && out.length < max) {
    const ch = line[i] as string;
    let close: string | undefined;
    if (ch === '"' || ch === "'") close = ch;
    else if (ch === '%' && line[i + 1] === 'q') {
      close = Q_CLOSE[line[i + 2] ?? ''];
      if (close) i += 2;
    }
    if (!close) {
      i++;
      continue;
    }
    let value = '';
    for (i++; i < line.length && line[i] !== close; i++) {
      if (line[i] === '\\' && close !== '}' && close !== '>' && close !== ')') i++;
      value += line[i] ?? '';
    }
    if (i >= line.length) break;
    out.push(value);
    i++;
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The name, version and licenses a gemspec assigns; throws LangCatalogError when name or version is missing. */
export function parseGemspec(file: ImageFile): Package[] {
  const text = textOf(file);
  const block = /Gem::Specification\.new\s+do\s*\|\s*([A-Za-z_]\w*)\s*\|/.exec(text);
  if (!block?.[1]) throw new LangCatalogError(file.path, 'no Gem::Specification.new do |spec| block');
  const v = escapeRegExp(block[1]);
  const name = literal(new RegExp(String.raw`^[ \t]*${v}\.name[ \t]*=[ \t]*${STRING}`, 'm').exec(text));
  const version = literal(
    new RegExp(String.raw`^[ \t]*${v}\.version[ \t]*=[ \t]*(?:Gem::Version\.new[ \t]*\(?[ \t]*)?${STRING}`, 'm').exec(text),
  );
  if (!name || !version) throw new LangCatalogError(file.path, `no ${block[1]}.name or ${block[1]}.version string`);
  const found = new FoundPackages(file, 'gem');
  found.add({ name, version, licenses: licensesOf(text, v) });
  return found.list();
}

/** The string literals assigned to `<v>.licenses` (an array or one string) or `<v>.license`. */
function licensesOf(text: string, v: string): string[] {
  const line = new RegExp(String.raw`^[ \t]*${v}\.licenses?[ \t]*=(.*)$`, 'm').exec(text)?.[1] ?? '';
  // A real gemspec names a handful of licenses; the cap bounds a hostile line.
  return stringLiterals(line, 64).filter((l) => l !== '');
}

/** `.../specifications/<gem>.gemspec`, including `specifications/default/`. */
function isInstalledGemspec(path: string): boolean {
  return /\/specifications\/(?:default\/)?[^/]+\.gemspec$/.test(path);
}

/** Installed Ruby gems. */
export const rubyCataloger: Cataloger = {
  name: 'ruby-gemspec',
  select: (path, size) => (isInstalledGemspec(path) && size <= MAX_METADATA_SIZE ? 'keep' : undefined),
  catalog: async (tree, _os, warn) => catalogFiles(tree, isInstalledGemspec, warn, parseGemspec),
};
