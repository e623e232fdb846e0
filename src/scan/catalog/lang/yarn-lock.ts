/*
 * yarn.lock, both formats. Yarn 1 writes its own format: an entry starts
 * with an unindented line of comma-separated specs (`name@range`, quoted when
 * they hold `@` or spaces) ending in `:`, followed by indented
 * `key value` fields, `version` among them; an alias spec reads
 * `alias@npm:real@range`. Yarn 2+ (Berry) writes YAML with a `__metadata`
 * entry; each entry has `version` and a `resolution` `name@protocol:...`
 * naming the real package (aliases included), and workspaces, links and
 * portals are `linkType: soft`. Neither format marks development
 * dependencies, so every locked package is reported.
 */
import type { ImageFile, Package } from '../../types.js';
import { FoundPackages, isRecord, LangCatalogError, str, textOf } from './lang-package.js';
import { npmFound } from './npm-package-json.js';
import { parseLockfileYaml } from './yaml-lockfile.js';

/** Protocols whose packages are local code rather than published packages. */
const LOCAL_PROTOCOL = /^(?:file|link|workspace|portal|exec):/;

/** `name@range` -> [name, range]; the name may start with `@`. */
function splitSpec(spec: string): [string, string] | undefined {
  const at = spec.indexOf('@', 1);
  return at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : undefined;
}

/** The real package a Yarn 1 spec locks: the alias target for `npm:` ranges; undefined for local protocols. */
function yarn1Name(spec: string): string | undefined {
  const parts = splitSpec(spec.replace(/^"|"$/g, ''));
  if (!parts) return undefined;
  const [name, range] = parts;
  if (LOCAL_PROTOCOL.test(range)) return undefined;
  if (range.startsWith('npm:')) return range.includes('@', 5) ? splitSpec(range.slice(4))?.[0] : name;
  return name;
}

/** The unquoted value of an indented `version "1.2.3"` line. */
function yarn1Version(line: string): string | undefined {
  const m = /^\s+version:?\s+"?([^"\s]+)"?\s*$/.exec(line);
  return m?.[1];
}

/** Adds the entries of a Yarn 1 lockfile; returns what is wrong with it, if anything. */
function parseYarn1(text: string, found: FoundPackages): string | undefined {
  let name: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      if (!line.endsWith(':')) return `unexpected line "${line.slice(0, 60)}"`;
      name = yarn1Name(line.slice(0, -1).split(',')[0]?.trim() ?? '');
      continue;
    }
    const version = name && yarn1Version(line);
    if (name && version) {
      found.add(npmFound(name, version));
      name = undefined;
    }
  }
  return undefined;
}

function parseBerry(doc: Record<string, unknown>, found: FoundPackages): void {
  for (const [key, entry] of Object.entries(doc)) {
    if (key === '__metadata' || !isRecord(entry) || entry.linkType === 'soft') continue;
    const resolution = str(entry.resolution);
    const version = str(entry.version);
    const parts = resolution && splitSpec(resolution);
    if (parts && version && !LOCAL_PROTOCOL.test(parts[1])) found.add(npmFound(parts[0], version));
  }
}

/** Packages of a Yarn 1 or Berry lockfile. Throws LangCatalogError when it is neither. */
export function parseYarnLock(file: ImageFile): Package[] {
  const text = textOf(file);
  const found = new FoundPackages(file, 'npm');
  if (/^__metadata:/m.test(text)) {
    const doc = parseLockfileYaml(file);
    if (!isRecord(doc)) throw new LangCatalogError(file.path, 'not a yarn.lock (not a YAML mapping)');
    parseBerry(doc, found);
  } else {
    const problem = parseYarn1(text, found);
    if (problem) throw new LangCatalogError(file.path, `not a yarn.lock (${problem})`);
  }
  return found.list();
}
