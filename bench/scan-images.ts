/*
 * The images `npm run bench:scan` scans, written as OCI image layouts:
 *
 * - debian-200: a Debian-like image of about 200 MiB decompressed in four
 *   gzip layers: os-release (this machine's) and a dpkg status database of
 *   DPKG_PACKAGES real paragraphs from this machine's /var/lib/dpkg/status in
 *   the base layer, then ordinary files in every layer (half incompressible,
 *   half text; sizes spread like a real Debian root: most under 16 KiB, a few
 *   of several MiB), a symlink now and then and a whiteout in the top layer
 *   removing a directory of the base layer.
 * - npm-1000: a Node.js application with NPM_PACKAGES packages: a lockfile
 *   v3 (the entries of this repository's own package-lock.json, topped up
 *   with generated ones shaped the same, lodash@4.17.15 and ansi-html@0.0.7
 *   among them so the OSV fixtures match something) and node_modules/* with
 *   package.json, index.js, README.md and LICENSE for every package.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Content, writeGzipTar, type TarItem } from './scan-content.js';
import { addGzipLayer, writeLayoutImage, type LayoutLayer } from './scan-layout.js';

export const TAG = 'bench';
export const DPKG_PACKAGES = 100;
export const NPM_PACKAGES = 1000;
const DEBIAN_BYTES = 200 * 1024 * 1024;
/** Share of the file bytes in each layer of debian-200. */
const DEBIAN_LAYER_SHARES = [0.2, 0.3, 0.3, 0.2];
const FILES_PER_DIR = 16;
const REPO_LOCKFILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package-lock.json');

export interface BenchImage {
  id: string;
  title: string;
  /** The OCI layout; the image is tagged TAG. */
  dir: string;
  layers: LayoutLayer[];
  /** Tar entries of every layer. */
  entries: number;
  /** The goal, when the image has one. */
  goal?: { maxMs: number; maxRssMiB: number };
}

/** This machine's os-release (Debian keeps it in /usr/lib; /etc/os-release links to it). Throws when it has none. */
function hostOsRelease(): Buffer {
  try {
    return readFileSync('/usr/lib/os-release');
  } catch (e) {
    throw new Error(`the benchmark takes its os-release from a Linux host: ${(e as Error).message}`);
  }
}

/** The first `count` installed paragraphs of this machine's dpkg status file, and their names. Throws when it has fewer. */
function hostDpkgStatus(count: number): { status: Buffer; names: string[] } {
  let status: string;
  try {
    status = readFileSync('/var/lib/dpkg/status', 'utf8');
  } catch (e) {
    throw new Error(`the benchmark takes its dpkg database from a Debian-like host: ${(e as Error).message}`);
  }
  const paragraphs = status.split(/\n\n+/).filter((p) => /^Status: install ok installed$/m.test(p)).slice(0, count);
  if (paragraphs.length < count) throw new Error(`/var/lib/dpkg/status has only ${paragraphs.length} installed packages; ${count} are needed`);
  const names = paragraphs.map((p) => /^Package: (\S+)$/m.exec(p)?.[1] ?? 'unknown');
  return { status: Buffer.from(paragraphs.join('\n\n') + '\n'), names };
}

function osReleaseItems(osRelease: Buffer): TarItem[] {
  return [
    { name: 'etc/', type: 'directory' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/os-release', body: osRelease },
    { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
  ];
}

/** Ordinary files under `top` until `budget` bytes: sizes like a Debian root, half text, a symlink every 100 files. */
function* ordinaryFiles(content: Content, top: string, budget: number): Generator<TarItem> {
  const rng = content.rng;
  for (let n = 0, used = 0; used < budget; n++) {
    if (n % FILES_PER_DIR === 0) yield { name: `${top}/d${n / FILES_PER_DIR}/`, type: 'directory' };
    const u = rng.next();
    const wanted = u < 0.75 ? rng.int(100, 16 * 1024) : u < 0.997 ? rng.int(16 * 1024, 128 * 1024) : rng.int(1024 ** 2, 8 * 1024 ** 2);
    const size = Math.min(wanted, budget - used);
    const text = rng.next() < 0.5;
    const name = `${top}/d${Math.floor(n / FILES_PER_DIR)}/f${n}.${text ? 'txt' : 'bin'}`;
    yield { name, body: text ? content.text(size) : content.random(size) };
    if (n % 100 === 99) yield { name: `${name}.link`, type: 'symlink', linkname: `f${n}.${text ? 'txt' : 'bin'}` };
    used += size;
  }
}

async function layoutFrom(dir: string, work: string, layerItems: Iterable<TarItem>[]): Promise<{ layers: LayoutLayer[]; entries: number }> {
  const layers: LayoutLayer[] = [];
  let entries = 0;
  for (const [i, items] of layerItems.entries()) {
    const file = join(work, `layer-${i}.tar.gz`);
    entries += await writeGzipTar(file, items);
    layers.push(await addGzipLayer(dir, file));
  }
  await writeLayoutImage(dir, layers, TAG);
  return { layers, entries };
}

/** debian-200 (see the top of the file), written to `dir` with `work` for scratch files. */
export async function debianImage(dir: string, work: string): Promise<BenchImage> {
  const host = hostDpkgStatus(DPKG_PACKAGES);
  const content = new Content(200);
  const layerItems = DEBIAN_LAYER_SHARES.map((share, i) => {
    const files = ordinaryFiles(content, `usr/share/bench${i}`, Math.round(share * DEBIAN_BYTES));
    if (i === 0) {
      const dpkg: TarItem[] = [
        { name: 'var/lib/dpkg/', type: 'directory' },
        { name: 'var/lib/dpkg/status', body: host.status },
        ...host.names.map((n) => ({ name: `var/lib/dpkg/info/${n}.list`, body: Buffer.from(`/.\n/usr\n/usr/share/doc/${n}\n/usr/share/doc/${n}/copyright\n`) })),
      ];
      return [...osReleaseItems(hostOsRelease()), ...dpkg, ...files];
    }
    if (i === DEBIAN_LAYER_SHARES.length - 1) return [{ name: 'usr/share/bench0/.wh.d0', body: Buffer.alloc(0) }, ...files];
    return files;
  });
  const { layers, entries } = await layoutFrom(dir, work, layerItems);
  const tarMiB = Math.round(layers.reduce((s, l) => s + l.tarSize, 0) / 1024 ** 2);
  return {
    id: 'debian-200',
    title: `Debian-like, ${tarMiB} MiB, ${layers.length} layers, ${DPKG_PACKAGES} dpkg packages`,
    dir,
    layers,
    entries,
    goal: { maxMs: 3000, maxRssMiB: 300 },
  };
}

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** This repository's package-lock.json entries under node_modules/, without the dev flags (the image installs them all). */
function realLockEntries(): Map<string, LockEntry> {
  const lock = JSON.parse(readFileSync(REPO_LOCKFILE, 'utf8')) as { packages?: Record<string, LockEntry & { link?: boolean }> };
  const out = new Map<string, LockEntry>();
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!key.startsWith('node_modules/') || entry.link || typeof entry.version !== 'string') continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    out.set(key, rest);
  }
  return out;
}

/** The package name a lockfile key installs (what follows its last node_modules/). */
function nameOf(key: string): string {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** A generated lockfile entry shaped like npm's, for `name`. */
function generatedEntry(content: Content, name: string, version: string, deps: string[][]): LockEntry {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const integrity = createHash('sha512').update(`${name}@${version}`).digest('base64');
  return {
    version,
    resolved: `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`,
    integrity: `sha512-${integrity}`,
    license: content.rng.pick(['MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause']),
    ...(deps.length > 0 ? { dependencies: Object.fromEntries(deps.map(([n, v]) => [n, `^${v}`])) } : {}),
  };
}

/** NPM_PACKAGES lockfile entries: the real ones, two with known advisories, and generated ones (a tenth of them nested). */
function npmPackages(content: Content): Map<string, LockEntry> {
  const rng = content.rng;
  const packages = new Map([...realLockEntries()].slice(0, NPM_PACKAGES - 2));
  packages.set('node_modules/lodash', generatedEntry(content, 'lodash', '4.17.15', []));
  packages.set('node_modules/ansi-html', generatedEntry(content, 'ansi-html', '0.0.7', []));
  const topLevel = [...packages.keys()].filter((k) => k.indexOf('node_modules/') === k.lastIndexOf('node_modules/'));
  for (let i = 0; packages.size < NPM_PACKAGES; i++) {
    const name = i % 5 === 0 ? `@bench/${content.rng.pick(['core', 'util', 'http', 'fs'])}-${i}` : `bench-${rng.pick(['fast', 'tiny', 'deep'])}-${i}`;
    const version = `${rng.int(0, 12)}.${rng.int(0, 30)}.${rng.int(0, 20)}`;
    const deps = Array.from({ length: rng.int(0, 4) }, () => {
      const key = rng.pick(topLevel);
      return [nameOf(key), packages.get(key)?.version ?? '1.0.0'];
    });
    const key = i % 10 === 9 ? `${rng.pick(topLevel)}/node_modules/${name}` : `node_modules/${name}`;
    packages.set(key, generatedEntry(content, name, version, deps));
  }
  return packages;
}

function* npmAppItems(content: Content, packages: Map<string, LockEntry>): Generator<TarItem> {
  const topLevel = [...packages].filter(([k]) => k.indexOf('node_modules/') === k.lastIndexOf('node_modules/'));
  const dependencies = Object.fromEntries(topLevel.map(([k, e]) => [nameOf(k), `^${e.version}`]));
  const app = { name: 'bench-app', version: '1.0.0', license: 'UNLICENSED', dependencies };
  const lock = { name: app.name, version: app.version, lockfileVersion: 3, requires: true, packages: { '': app, ...Object.fromEntries(packages) } };
  yield { name: 'app/', type: 'directory' };
  yield { name: 'app/package.json', body: Buffer.from(JSON.stringify(app, null, 2) + '\n') };
  yield { name: 'app/package-lock.json', body: Buffer.from(JSON.stringify(lock, null, 2) + '\n') };
  for (const [key, entry] of packages) {
    const name = nameOf(key);
    const manifest = {
      name,
      version: entry.version,
      description: content.text(60).toString('latin1').replace(/\s+/g, ' ').trim(),
      main: 'index.js',
      license: entry.license ?? 'MIT',
      repository: { type: 'git', url: `git+https://github.com/example/${name.replace('@', '').replace('/', '-')}.git` },
      ...(entry.dependencies ? { dependencies: entry.dependencies } : {}),
    };
    yield { name: `app/${key}/`, type: 'directory' };
    yield { name: `app/${key}/package.json`, body: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') };
    yield { name: `app/${key}/index.js`, body: content.text(content.rng.int(500, 8000)) };
    yield { name: `app/${key}/README.md`, body: content.text(content.rng.int(1000, 6000)) };
    yield { name: `app/${key}/LICENSE`, body: content.text(1100) };
  }
}

/** npm-1000 (see the top of the file), written to `dir` with `work` for scratch files. */
export async function npmImage(dir: string, work: string): Promise<BenchImage> {
  const content = new Content(1000);
  const packages = npmPackages(content);
  const { layers, entries } = await layoutFrom(dir, work, [osReleaseItems(hostOsRelease()), npmAppItems(content, packages)]);
  const tarMiB = Math.round(layers.reduce((s, l) => s + l.tarSize, 0) / 1024 ** 2);
  return { id: 'npm-1000', title: `Node.js app, ${packages.size} npm packages, ${tarMiB} MiB`, dir, layers, entries };
}
