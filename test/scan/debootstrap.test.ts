import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addGzipLayer, openLayoutImage, writeLayoutImage, type LayoutLayer } from '../../bench/scan-layout.js';
import { AdvisoryDb } from '../../src/scan/advisories/index.js';
import { takeInventory, type Inventory } from '../../src/scan/scanner.js';
import { onPath, runCommand } from '../helpers/e2e-process.js';
import { BERTH_BIN } from '../helpers/server.js';

/**
 * A real Debian 12 root filesystem, made by `debootstrap --variant=minbase
 * bookworm` from the Debian mirror this machine's apt uses, packed by GNU tar
 * (--numeric-owner, gzip) as two layers: /usr (GNU format) below everything
 * else (POSIX pax format). /etc/os-release is a symlink to
 * ../usr/lib/os-release, so the OS is only found by resolving a symlink of
 * the upper layer into the lower one. The expected packages come from
 * dpkg-query reading the root's own database; berth reads the image through
 * an OCI layout, the way `berth scan oci:DIR` does, and then through the CLI.
 *
 * Slow (a minute or two of downloading and unpacking). Needs root (debootstrap
 * chroots) and debootstrap; skipped with the reason when either is missing or
 * the mirror does not answer.
 */

const TAG = 'bookworm';
const DEBOOTSTRAP_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const OSV_RECORDS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'osv', 'records');
/** What debootstrap prints when the mirror, not debootstrap, failed. */
const DOWNLOAD_FAILURE = /Failed getting release file|Couldn't download|Failed to fetch|Temporary failure resolving|Could not resolve|Connection (refused|timed out)/;

const debootstrap = onPath('debootstrap') ?? ['/usr/sbin/debootstrap', '/sbin/debootstrap'].find((p) => existsSync(p));
const skip =
  process.getuid?.() !== 0
    ? 'needs root: debootstrap unpacks packages and runs their scripts in a chroot'
    : debootstrap === undefined
      ? 'debootstrap is not installed (Debian/Ubuntu: apt-get install debootstrap)'
      : false;

/**
 * The bookworm mirror apt is configured with (deb822 `.sources` files and
 * one-line `.list` entries under /etc/apt), else deb.debian.org.
 */
function debianMirror(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', f));
    }
  } catch {
    /* no sources.list.d */
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (field('Types').includes('deb') && field('Suites').includes('bookworm')) {
        const uri = field('URIs')[0];
        if (uri) return uri.replace(/\/$/, '');
      }
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (line?.[1]) return line[1].replace(/\/$/, '');
  }
  return DEFAULT_MIRROR;
}

/** Undefined when `${mirror}/dists/bookworm/Release` answers 200 within 20 s; else why not. */
async function mirrorProblem(mirror: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${mirror}/dists/bookworm/Release`, { method: 'HEAD', signal: AbortSignal.timeout(20_000) });
    return res.ok ? undefined : `${mirror} answered ${res.status} for dists/bookworm/Release`;
  } catch (e) {
    return `${mirror} is unreachable: ${(e as Error).message}`;
  }
}

/**
 * Runs debootstrap with its output in `log`, in its own process group so a
 * timeout kills it and everything it started. Resolves with the exit code
 * (null when killed).
 */
function runDebootstrap(bin: string, root: string, mirror: string, log: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const fd = openSync(log, 'w');
    const child = spawn(bin, ['--variant=minbase', TAG, root, mirror], { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is already gone */
      }
    }, DEBOOTSTRAP_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Mount points at or below `root` (debootstrap mounts /proc and /sys in the chroot while it works). */
function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => m !== undefined && (m === root || m.startsWith(root + '/')));
}

/** `tar --numeric-owner -czf out -C root ARGS`, asserting success. */
async function tarGz(root: string, out: string, args: string[]): Promise<void> {
  const r = await runCommand('tar', ['--numeric-owner', '-czf', out, '-C', root, ...args], 5 * 60_000);
  assert.equal(r.code, 0, r.describe());
}

interface DpkgRow {
  package: string;
  version: string;
  sourcePackage: string;
  sourceVersion: string;
  architecture: string;
  status: string;
}

/** dpkg's own view of the root's database, one row per package it lists. */
async function dpkgQuery(root: string): Promise<DpkgRow[]> {
  const format = '${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${Architecture}\\t${db:Status-Status}\\n';
  const r = await runCommand('dpkg-query', ['-W', `-f=${format}`, `--admindir=${join(root, 'var', 'lib', 'dpkg')}`]);
  assert.equal(r.code, 0, r.describe());
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pkg = '', version = '', sourcePackage = '', sourceVersion = '', architecture = '', status = ''] = line.split('\t');
      return { package: pkg, version, sourcePackage, sourceVersion, architecture, status };
    });
}

/** Name, version, source name, source version and architecture, tab-separated and sorted. */
function rows(list: { name: string; version: string; srcName?: string; srcVersion?: string; arch?: string }[]): string[] {
  return list.map((p) => [p.name, p.version, p.srcName ?? '', p.srcVersion ?? '', p.arch ?? ''].join('\t')).sort();
}

describe('a debootstrapped Debian 12 image (slow)', { skip, timeout: 20 * 60_000 }, () => {
  let work: string;
  let root: string;
  let layout: string;
  let unavailable: string | undefined;
  let expected: DpkgRow[] = [];
  let layers: LayoutLayer[] = [];
  let inventory: Inventory | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-debootstrap-'));
    root = join(work, 'root');
    layout = join(work, 'layout');
    const mirror = debianMirror();
    unavailable = await mirrorProblem(mirror);
    if (unavailable) return;
    const log = join(work, 'debootstrap.log');
    const code = await runDebootstrap(debootstrap!, root, mirror, log);
    if (code !== 0) {
      const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
      if (code !== null && DOWNLOAD_FAILURE.test(tail)) {
        unavailable = `debootstrap could not download from ${mirror}:\n${tail}`;
        return;
      }
      assert.fail(`debootstrap ${code === null ? `was killed after ${DEBOOTSTRAP_TIMEOUT_MS / 60_000} minutes` : `exited ${code}`}:\n${tail}`);
    }
    expected = await dpkgQuery(root);
    await tarGz(root, join(work, 'usr.tar.gz'), ['--format=gnu', './usr']);
    await tarGz(root, join(work, 'rest.tar.gz'), ['--format=posix', '--exclude=./usr', '.']);
    layers = [await addGzipLayer(layout, join(work, 'usr.tar.gz')), await addGzipLayer(layout, join(work, 'rest.tar.gz'))];
    await writeLayoutImage(layout, layers, TAG);
  });

  after(async () => {
    if (!work) return;
    // Never delete through a mount that debootstrap left behind (its /proc or /sys).
    for (const m of mountsUnder(root).reverse()) await runCommand('umount', ['-l', m]);
    const left = mountsUnder(root);
    if (left.length > 0) throw new Error(`not removing ${work}: still mounted: ${left.join(', ')}`);
    await rm(work, { recursive: true, force: true });
  });

  /** The inventory of the layout image, taken once; undefined (and the test skipped) when the mirror was unavailable. */
  async function scanned(t: TestContext): Promise<Inventory | undefined> {
    if (unavailable) {
      t.skip(unavailable);
      return undefined;
    }
    if (!inventory) {
      const { image, close } = await openLayoutImage(layout, TAG);
      try {
        inventory = await takeInventory(image);
      } finally {
        await close();
      }
    }
    return inventory;
  }

  test('the root is a fresh minbase: every package dpkg lists is installed', (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.ok(expected.length > 50, `dpkg-query listed only ${expected.length} packages`);
    assert.deepEqual(
      expected.filter((r) => r.status !== 'installed').map((r) => `${r.package} ${r.status}`),
      [],
    );
  });

  test('the OS is Debian 12, found through /etc/os-release -> ../usr/lib/os-release across the layers', async (t) => {
    const inv = await scanned(t);
    if (!inv) return;
    assert.equal(inv.os?.id, 'debian');
    assert.equal(inv.os?.versionId, '12');
    assert.equal(inv.os?.versionCodename, 'bookworm');
  });

  test("the dpkg packages are exactly dpkg-query's: names, versions, source names and versions, architectures", async (t) => {
    const inv = await scanned(t);
    if (!inv) return;
    const dpkg = inv.packages.filter((p) => p.type === 'dpkg');
    const got = rows(dpkg.map((p) => ({ name: p.name, version: p.version, srcName: p.source?.name, srcVersion: p.source?.version, arch: p.arch })));
    const want = rows(
      expected.map((r) => ({ name: r.package, version: r.version, srcName: r.sourcePackage, srcVersion: r.sourceVersion, arch: r.architecture })),
    );
    assert.deepEqual(got, want);
    // Binary NMUs and renamed sources must be among them, or the source columns proved little.
    assert.ok(
      expected.some((r) => r.sourcePackage !== r.package),
      'no package with a differently named source',
    );
    const upper = layers[1]?.digest;
    for (const p of dpkg) {
      assert.equal(p.path, '/var/lib/dpkg/status', `${p.name}: path`);
      assert.equal(p.layer, upper, `${p.name}: layer`);
    }
  });

  test('reading the real root raises no warnings', async (t) => {
    const inv = await scanned(t);
    if (!inv) return;
    const other = inv.packages.filter((p) => p.type !== 'dpkg').map((p) => `${p.type} ${p.name} ${p.version} ${p.path}`);
    if (other.length > 0) t.diagnostic(`non-dpkg packages found: ${other.join('; ')}`);
    assert.deepEqual(inv.warnings, []);
  });

  test('berth scan oci:DIR --format json --list-all-pkgs reports the same packages and OS', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const dbDir = join(work, 'db');
    const db = AdvisoryDb.open(dbDir);
    try {
      await db.import(OSV_RECORDS);
    } finally {
      db.close();
    }
    const r = await runCommand(
      process.execPath,
      [BERTH_BIN, 'scan', `oci:${layout}:${TAG}`, '--db-dir', dbDir, '--format', 'json', '--list-all-pkgs', '--quiet'],
      5 * 60_000,
    );
    assert.equal(r.code, 0, r.describe());
    const report = JSON.parse(r.stdout) as {
      Metadata?: { OS?: { Family?: string; Name?: string } };
      Results?: { Class?: string; Packages?: { Name: string; Version: string; SrcName?: string; SrcVersion?: string; Arch?: string }[] }[];
    };
    assert.deepEqual(report.Metadata?.OS, { Family: 'debian', Name: '12' });
    const os = (report.Results ?? []).filter((x) => x.Class === 'os-pkgs');
    assert.equal(os.length, 1, `expected one os-pkgs result: ${JSON.stringify(report.Results?.map((x) => x.Class))}`);
    const got = rows((os[0]?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version, srcName: p.SrcName, srcVersion: p.SrcVersion, arch: p.Arch })));
    const want = rows(
      expected.map((x) => ({ name: x.package, version: x.version, srcName: x.sourcePackage, srcVersion: x.sourceVersion, arch: x.architecture })),
    );
    assert.deepEqual(got, want);
  });
});
