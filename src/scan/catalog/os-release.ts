/*
 * The image's operating system, from os-release(5): "The file /etc/os-release
 * takes precedence over /usr/lib/os-release. Applications should check for the
 * former, and exclusively use its data if it exists, and only fall back to the
 * latter". The format is a newline-separated list of shell-compatible variable
 * assignments without expansion; values may be quoted, and "$", quotes,
 * backslash and backtick are escaped with backslashes "following shell style".
 * Lines starting with "#" are comments. Values are read the way sh(1) reads
 * them (the tests check against dash), so what sh accepts is accepted here.
 */
import { PackageURL } from 'packageurl-js';
import type { FileTree, OsInfo } from '../types.js';

/** Where os-release(5) files live, in order of precedence. */
export const OS_RELEASE_PATHS: readonly string[] = ['/etc/os-release', '/usr/lib/os-release'];

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** In double quotes, a backslash escapes only these (sh(1), "Double-Quotes"). */
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\']);

/** The assignments of an os-release file; malformed lines (bad key, unclosed quote) are skipped. */
export function parseOsReleaseVariables(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0 || !KEY.test(line.slice(0, eq))) continue;
    const value = shellWord(line.slice(eq + 1));
    if (value !== undefined) vars.set(line.slice(0, eq), value);
  }
  return vars;
}

/**
 * One shell word without expansion: unquoted text (a backslash escapes the
 * next character), '...' (literal) and "..." (backslash escapes $ ` " \) run
 * together until unquoted whitespace. Undefined when a quote is not closed.
 */
function shellWord(s: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\r') break;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return undefined;
        const d = s[i] as string;
        if (d === '"') break;
        const next = s[i + 1];
        if (d === '\\' && next !== undefined && DOUBLE_QUOTE_ESCAPES.has(next)) {
          out += next;
          i += 2;
        } else {
          out += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      out += s[i + 1] ?? '';
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The OsInfo an os-release file describes; ID defaults to "linux" as os-release(5) says. */
export function parseOsRelease(text: string): OsInfo {
  const vars = parseOsReleaseVariables(text);
  const info: OsInfo = { id: vars.get('ID') || 'linux' };
  const versionId = vars.get('VERSION_ID');
  const codename = vars.get('VERSION_CODENAME');
  const prettyName = vars.get('PRETTY_NAME');
  const idLike = vars.get('ID_LIKE')?.split(' ').filter(Boolean);
  if (versionId) info.versionId = versionId;
  if (codename) info.versionCodename = codename;
  if (prettyName) info.prettyName = prettyName;
  if (idLike?.length) info.idLike = idLike;
  return info;
}

/** The image's OS from its kept os-release files (symlinks followed); undefined when it has neither. */
export function detectOs(tree: FileTree): OsInfo | undefined {
  for (const path of OS_RELEASE_PATHS) {
    const file = tree.get(path);
    if (file) return parseOsRelease(file.content.toString('utf8'));
  }
  return undefined;
}

/**
 * The purl of an OS package (purl-spec PURL-TYPES: apk, deb, rpm): the
 * namespace is the vendor, the os-release ID when known; qualifiers left
 * undefined are omitted. Throws when packageurl-js rejects a component.
 */
export function osPackageUrl(
  type: 'apk' | 'deb' | 'rpm',
  os: OsInfo | undefined,
  name: string,
  version: string,
  qualifiers: Record<string, string | undefined>,
): string {
  const present = Object.entries(qualifiers).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
  const q = present.length > 0 ? Object.fromEntries(present) : undefined;
  return new PackageURL(type, os?.id, name, version, q, undefined).toString();
}

/** `<ID>-<VERSION_ID>` (debian-12, rocky-9.3): the distro qualifier of deb and rpm purls. */
export function distroQualifier(os: OsInfo | undefined): string | undefined {
  return os?.versionId ? `${os.id}-${os.versionId}` : undefined;
}
