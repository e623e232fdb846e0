/*
 * Java archives (.jar, .war, .ear). Maven writes
 * `META-INF/maven/<groupId>/<artifactId>/pom.properties` (groupId,
 * artifactId, version) into every artifact it builds, and a fat JAR or WAR
 * keeps those of what it bundles: each one is a package. An archive without
 * any falls back to its manifest: group Implementation-Vendor-Id or else
 * Bundle-SymbolicName, artifact Implementation-Title or else the symbolic
 * name, version Implementation-Version or else Bundle-Version. Last comes a
 * `name-1.2.3.jar` file name, which names no group: such a package is the
 * artifact alone with a `pkg:generic` purl (purl-spec's maven type requires
 * the group), listed but not matched to Maven advisories. Archives inside
 * archives (WEB-INF/lib/*.jar, an EAR's modules) are read too, three levels
 * deep and within a byte budget, and their packages carry the path
 * `outer.war!/WEB-INF/lib/inner.jar` (the JAR URL convention).
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { baseName, FoundPackages, LangCatalogError, type Found } from './lang-package.js';
import { eachZipEntry, ZipArchiveError } from './zip-archive.js';

const ARCHIVE = /\.(?:jar|war|ear)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MAX_ARCHIVE_SIZE = 256 * 1024 * 1024;
const MAX_NESTING = 3;
/** Bytes inflated for nested archives of one top-level file, all levels together. */
const MAX_NESTED_BYTES = 256 * 1024 * 1024;
/** Entries listed across one top-level file and everything nested in it. */
const MAX_ENTRIES = 200_000;
const MAX_METADATA_BYTES = 1024 * 1024;

interface Budget {
  nestedBytes: number;
  entries: number;
}

/** `key=value` / `key: value` lines of a .properties file (comments `#`, `!`). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m?.[1]) out.set(m[1], m[2] ?? '');
  }
  return out;
}

/** The main section of a MANIFEST.MF (up to the first blank line); continuation lines start with one space. */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (line.startsWith(' ') && last) {
      out.set(last, (out.get(last) ?? '') + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    last = colon > 0 ? line.slice(0, colon).trim() : undefined;
    if (last) out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

function mavenFound(group: string, artifact: string, version: string, path: string): Found {
  return { name: `${group}:${artifact}`, version, namespace: group, purlName: artifact, path };
}

function fromManifest(m: Map<string, string>, path: string): Found | undefined {
  const symbolicName = m.get('Bundle-SymbolicName')?.split(';')[0]?.trim();
  const group = m.get('Implementation-Vendor-Id') || symbolicName;
  const artifact = m.get('Implementation-Title') || symbolicName;
  const version = m.get('Implementation-Version') || m.get('Bundle-Version');
  return group && artifact && version ? mavenFound(group, artifact, version, path) : undefined;
}

/** `commons-lang3-3.12.0.jar` -> commons-lang3 3.12.0, group unknown. */
function fromFileName(path: string): Found | undefined {
  const m = /^(.+?)-(\d[\w.+-]*)\.(?:jar|war|ear)$/i.exec(baseName(path));
  return m?.[1] && m[2] ? { name: m[1], version: m[2], purlType: 'generic', path } : undefined;
}

/** Adds the packages of one archive (and, recursively, of archives inside it) to `found`. */
async function scanArchive(data: Buffer, path: string, depth: number, budget: Budget, found: FoundPackages): Promise<void> {
  const poms: Found[] = [];
  let manifest: Map<string, string> | undefined;
  const nested: { name: string; data: Buffer }[] = [];
  await eachZipEntry(data, MAX_ENTRIES - budget.entries, async (entry) => {
    budget.entries++;
    if (POM_PROPERTIES.test(entry.name)) {
      const p = parseProperties((await entry.read(MAX_METADATA_BYTES)).toString('utf8'));
      const [group, artifact, version] = [p.get('groupId'), p.get('artifactId'), p.get('version')];
      if (group && artifact && version) poms.push(mavenFound(group, artifact, version, path));
    } else if (entry.name === 'META-INF/MANIFEST.MF') {
      manifest = parseManifest((await entry.read(MAX_METADATA_BYTES)).toString('utf8'));
    } else if (ARCHIVE.test(entry.name) && depth < MAX_NESTING && entry.uncompressedSize <= MAX_NESTED_BYTES - budget.nestedBytes) {
      budget.nestedBytes += entry.uncompressedSize;
      // A nested archive that cannot be read is skipped; the outer one's findings stand.
      const bytes = await entry.read(entry.uncompressedSize).catch((err: unknown) => {
        if (err instanceof ZipArchiveError) return undefined;
        throw err;
      });
      if (bytes) nested.push({ name: entry.name, data: bytes });
    }
  });
  const own = poms.length ? poms : [(manifest && fromManifest(manifest, path)) || fromFileName(path)];
  for (const f of own) if (f) found.add(f);
  for (const n of nested.splice(0)) {
    try {
      await scanArchive(n.data, `${path}!/${n.name}`, depth + 1, budget, found);
    } catch (err) {
      if (!(err instanceof ZipArchiveError)) throw err;
    }
  }
}

/** Packages of one Java archive; [] when it is not a readable zip or exceeds a limit. */
export async function javaArchivePackages(file: ImageFile): Promise<Package[]> {
  const found = new FoundPackages(file, 'java');
  try {
    await scanArchive(file.content, file.path, 0, { nestedBytes: 0, entries: 0 }, found);
  } catch (err) {
    if (err instanceof ZipArchiveError || err instanceof LangCatalogError) return [];
    throw err;
  }
  return found.list();
}

/** Java archives, inspected one at a time. */
export const javaCataloger: Cataloger = {
  name: 'java-archive',
  select: (path, size) => (ARCHIVE.test(path) && size <= MAX_ARCHIVE_SIZE ? 'inspect' : undefined),
  inspect: javaArchivePackages,
};
