/*
 * RPM packages from rpm's sqlite database (rpm >= 4.16: Fedora 33+, RHEL 9
 * and its rebuilds), at /var/lib/rpm/rpmdb.sqlite or, where /var/lib/rpm is a
 * symlink to it, /usr/lib/sysimage/rpm/rpmdb.sqlite. The database is opened
 * from memory, read-only. Each row of its Packages table holds one package
 * header as rpm exports it (rpm's lib/header.c):
 *
 *   int32 il; int32 dl;                 index entry count, data store size (big-endian)
 *   { int32 tag, type, offset, count }[il]
 *   byte data[dl]
 *
 * Strings are NUL-terminated at `offset` in the data store; EPOCH is an
 * INT32. Every offset and count is checked against the blob before use.
 * gpg-pubkey entries (imported signing keys, not software) are skipped. The
 * BerkeleyDB (`Packages`) and NDB (`Packages.db`) formats of older rpm are not
 * read.
 */
import Database from 'better-sqlite3';
import type { Cataloger, FileTree, ImageFile, OsInfo, Package } from '../types.js';
import { distroQualifier, osPackageUrl } from './os-release.js';

export const RPMDB_PATHS: readonly string[] = ['/var/lib/rpm/rpmdb.sqlite', '/usr/lib/sysimage/rpm/rpmdb.sqlite'];

/** rpm's header tags (rpmtag.h) read here. */
const TAG = { name: 1000, version: 1001, release: 1002, epoch: 1003, license: 1014, arch: 1022, sourceRpm: 1044 } as const;
/** rpm's tag types (rpmtag.h: rpmTagType). */
const INT32 = 4;
const STRING = 6;
const STRING_ARRAY = 8;
const I18NSTRING = 9;
/** rpm's own sanity limits (header_internal.h: hdrchkTags, hdrchkData). */
const MAX_TAGS = 0xffff;
const MAX_DATA = 0x0fffffff;

/** A header blob whose structure points outside itself or holds the wrong types. */
export class RpmHeaderError extends Error {
  override name = 'RpmHeaderError';
}

export interface RpmHeader {
  name?: string;
  version?: string;
  release?: string;
  epoch?: number;
  license?: string;
  arch?: string;
  sourceRpm?: string;
}

/** The tags berth reads from one header blob. Throws RpmHeaderError when the blob's structure is out of bounds. */
export function parseRpmHeader(blob: Buffer): RpmHeader {
  if (blob.length < 8) throw new RpmHeaderError(`header of ${blob.length} bytes is too short`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il < 1 || il > MAX_TAGS) throw new RpmHeaderError(`header has ${il} index entries`);
  if (dl > MAX_DATA) throw new RpmHeaderError(`header data store of ${dl} bytes is too large`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) throw new RpmHeaderError(`header claims ${dataStart + dl} bytes, the blob has ${blob.length}`);
  const data = blob.subarray(dataStart, dataStart + dl);
  const wanted = new Map<number, keyof RpmHeader>(Object.entries(TAG).map(([k, v]) => [v, k as keyof RpmHeader]));
  const out: RpmHeader = {};
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const key = wanted.get(blob.readUInt32BE(at));
    if (!key) continue;
    const type = blob.readUInt32BE(at + 4);
    const offset = blob.readUInt32BE(at + 8);
    const count = blob.readUInt32BE(at + 12);
    if (offset >= dl || count === 0) throw new RpmHeaderError(`tag ${TAG[key]} points outside the data store`);
    if (key === 'epoch') {
      if (type !== INT32 || offset % 4 !== 0 || offset + 4 > dl) throw new RpmHeaderError('EPOCH is not a readable INT32');
      out.epoch = data.readUInt32BE(offset);
    } else {
      if (type !== STRING && type !== STRING_ARRAY && type !== I18NSTRING) throw new RpmHeaderError(`tag ${TAG[key]} is not a string`);
      const end = data.indexOf(0, offset);
      if (end < 0) throw new RpmHeaderError(`tag ${TAG[key]} has no terminating NUL`);
      out[key] = data.toString('utf8', offset, end);
    }
  }
  return out;
}

/** `name`, `version-release` of a source RPM file name (`bash-5.1.8-6.el9.src.rpm`); undefined when it is not one. */
export function parseSourceRpm(file: string): { name: string; version: string } | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(file);
  return m ? { name: m[1] as string, version: `${m[2]}-${m[3]}` } : undefined;
}

/**
 * The header blobs of an rpmdb.sqlite image. rpm runs it in WAL mode and
 * checkpoints on close; a database in memory cannot have a WAL, so the file
 * format bytes (offsets 18 and 19, 2 = WAL) are set to 1 (rollback journal)
 * on a copy first. Only a real table named Packages is read (a view could
 * run arbitrary queries), with the schema untrusted. Throws SqliteError or
 * Error for a file sqlite cannot read.
 */
export function readHeaderBlobs(bytes: Buffer): Buffer[] {
  if (bytes.length < 100 || bytes.toString('latin1', 0, 16) !== 'SQLite format 3\0') throw new Error('not an SQLite database');
  const copy = Buffer.from(bytes);
  if (copy[18] === 2 && copy[19] === 2) copy[18] = copy[19] = 1;
  const db = new Database(copy, { readonly: true });
  try {
    db.pragma('trusted_schema = OFF');
    db.pragma('cell_size_check = ON');
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'").get();
    if (!table) throw new Error('no Packages table');
    const rows = db.prepare('SELECT blob FROM Packages ORDER BY hnum').raw().all() as unknown[][];
    return rows.map(([blob]) => (Buffer.isBuffer(blob) ? blob : Buffer.alloc(0)));
  } finally {
    db.close();
  }
}

/** The packages of one rpmdb.sqlite; unreadable databases and headers are reported to `warn`. */
export function parseRpmDb(file: ImageFile, os: OsInfo | undefined, warn: (message: string) => void): Package[] {
  let blobs: Buffer[];
  try {
    blobs = readHeaderBlobs(file.content);
  } catch (e) {
    warn(`${file.path}: cannot read the rpm database: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
  const packages: Package[] = [];
  for (const [index, blob] of blobs.entries()) {
    let h: RpmHeader;
    try {
      h = parseRpmHeader(blob);
    } catch (e) {
      warn(`${file.path}: package header ${index + 1}: ${e instanceof Error ? e.message : String(e)}; skipped`);
      continue;
    }
    if (h.name === 'gpg-pubkey') continue;
    if (!h.name || !h.version || !h.release) {
      warn(`${file.path}: package header ${index + 1} has no name, version or release; skipped`);
      continue;
    }
    const epoch = h.epoch === undefined ? '' : `${h.epoch}:`;
    const source = h.sourceRpm ? parseSourceRpm(h.sourceRpm) : undefined;
    packages.push({
      name: h.name,
      version: `${epoch}${h.version}-${h.release}`,
      type: 'rpm',
      purl: osPackageUrl('rpm', os, h.name, `${h.version}-${h.release}`, {
        arch: h.arch,
        epoch: h.epoch?.toString(),
        distro: distroQualifier(os),
      }),
      path: file.path,
      layer: file.layer,
      // A source RPM's file name has no epoch: the binary's is used (a spec's subpackages share it as a rule).
      ...(source ? { source: { name: source.name, version: `${epoch}${source.version}` } } : {}),
      ...(h.license ? { licenses: [h.license] } : {}),
      ...(h.arch ? { arch: h.arch } : {}),
    });
  }
  return packages;
}

/** Keeps rpmdb.sqlite; finds one package per header in it (a database reached by two paths is read once). */
export const rpmCataloger: Cataloger = {
  name: 'rpm',
  select: (path) => (RPMDB_PATHS.includes(path) ? 'keep' : undefined),
  async catalog(tree: FileTree, os: OsInfo | undefined, warn: (message: string) => void): Promise<Package[]> {
    const files = new Map<string, ImageFile>();
    for (const path of RPMDB_PATHS) {
      const file = tree.get(path);
      if (file) files.set(file.path, file);
    }
    return [...files.values()].flatMap((file) => parseRpmDb(file, os, warn));
  },
};
