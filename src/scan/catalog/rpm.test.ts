import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { fixture } from '../layers/test-helpers.js';
import type { FileTree, ImageFile, OsInfo, Package } from '../types.js';
import { parseRpmDb, parseRpmHeader, parseSourceRpm, readHeaderBlobs, RpmHeaderError, rpmCataloger } from './rpm.js';

const ROCKY: OsInfo = { id: 'rocky', versionId: '9.3' };
const DB_PATH = '/usr/lib/sysimage/rpm/rpmdb.sqlite';

function file(content: Buffer, path = DB_PATH): ImageFile {
  return { path, size: content.length, mode: 0o644, layer: 'sha256:base', content };
}

/** The header blob rpm wrote into the fixture database for package `name`. */
function fixtureBlob(name: string): Buffer {
  const blob = readHeaderBlobs(fixture('rpm/rpmdb.sqlite')).find((b) => parseRpmHeader(b).name === name);
  return blob ?? assert.fail(`no ${name} in the fixture`);
}

/** A database with a Packages table holding `blobs` (or, with `view`, a view of that name). */
function database(blobs: Buffer[], view = false): Buffer {
  const db = new Database(':memory:');
  try {
    if (view) db.exec("CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob");
    else {
      db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
      const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
      for (const b of blobs) insert.run(b);
    }
    return db.serialize();
  } finally {
    db.close();
  }
}

test('the packages rpm -qa lists from the fixture database (oracle.txt)', () => {
  // oracle.txt: %{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{SOURCERPM} %{ARCH} %{LICENSE}
  const expected = fixture('rpm/oracle.txt')
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [name, evr, srpm, arch, ...license] = line.split(' ');
      return [name, (evr as string).replace(/^0:/, ''), srpm, arch, license.join(' ')].join('|');
    });
  const messages: string[] = [];
  const packages = parseRpmDb(file(fixture('rpm/rpmdb.sqlite')), ROCKY, (m) => messages.push(m));
  assert.deepEqual(messages, []);
  const got = packages.map((p: Package) => {
    const srpm = p.source ? `${p.source.name}-${(p.source.version ?? '').replace(/^\d+:/, '')}.src.rpm` : '';
    return [p.name, p.version, srpm, p.arch, p.licenses?.join(' ')].join('|');
  });
  assert.deepEqual(got.sort(), expected.sort());
  const data = packages.find((p) => p.name === 'berth-hello-data');
  assert.deepEqual(data?.source, { name: 'berth-hello', version: '2:1.2.3-4.fixture' });
  assert.equal(data?.purl, 'pkg:rpm/rocky/berth-hello-data@1.2.3-4.fixture?arch=noarch&distro=rocky-9.3&epoch=2');
  assert.equal(packages.find((p) => p.name === 'berth-tiny')?.purl, 'pkg:rpm/rocky/berth-tiny@0.1-1?arch=x86_64&distro=rocky-9.3');
  assert.equal(data?.type, 'rpm');
  assert.equal(data?.layer, 'sha256:base');
});

test('header blobs out of bounds are RpmHeaderErrors, never crashes', () => {
  const blob = fixtureBlob('berth-hello');
  assert.equal(parseRpmHeader(blob).name, 'berth-hello');
  // Every truncation, and every single-byte corruption of the index, is either read or refused cleanly.
  for (let n = 0; n < blob.length; n += 7) {
    assert.throws(() => parseRpmHeader(blob.subarray(0, n)), RpmHeaderError);
  }
  const il = blob.readUInt32BE(0);
  for (let at = 0; at < 8 + il * 16; at++) {
    const bad = Buffer.from(blob);
    bad[at] = (bad[at] as number) ^ 0xff;
    try {
      parseRpmHeader(bad);
    } catch (e) {
      assert.ok(e instanceof RpmHeaderError, String(e));
    }
  }
  const huge = Buffer.alloc(16);
  huge.writeUInt32BE(0x7fffffff, 0);
  assert.throws(() => parseRpmHeader(huge), /header has 2147483647 index entries/);
  // One NAME entry pointing at a string with no terminating NUL.
  const noNul = Buffer.alloc(8 + 16 + 4);
  noNul.writeUInt32BE(1, 0);
  noNul.writeUInt32BE(4, 4);
  noNul.writeUInt32BE(1000, 8);
  noNul.writeUInt32BE(6, 12);
  noNul.writeUInt32BE(0, 16);
  noNul.writeUInt32BE(1, 20);
  noNul.write('abcd', 24);
  assert.throws(() => parseRpmHeader(noNul), /tag 1000 has no terminating NUL/);
});

test('source RPM file names', () => {
  assert.deepEqual(parseSourceRpm('bash-5.1.8-6.el9.src.rpm'), { name: 'bash', version: '5.1.8-6.el9' });
  assert.deepEqual(parseSourceRpm('python3-pip-21.2.3-7.el9.nosrc.rpm'), { name: 'python3-pip', version: '21.2.3-7.el9' });
  assert.equal(parseSourceRpm('(none)'), undefined);
});

test('unreadable databases and headers are warnings', () => {
  const messages: string[] = [];
  const warn = (m: string) => messages.push(m);
  const good = fixtureBlob('berth-tiny');
  const packages = parseRpmDb(file(database([Buffer.from('junk'), good])), undefined, warn);
  assert.deepEqual(
    packages.map((p) => `${p.name}@${p.version}`),
    ['berth-tiny@0.1-1'],
  );
  assert.equal(parseRpmDb(file(Buffer.from('not a database at all')), undefined, warn).length, 0);
  assert.equal(parseRpmDb(file(database([], true)), undefined, warn).length, 0);
  const truncated = fixture('rpm/rpmdb.sqlite').subarray(0, 8192);
  assert.equal(parseRpmDb(file(truncated), undefined, warn).length, 0);
  assert.deepEqual(messages.slice(0, 3), [
    `${DB_PATH}: package header 1: header of 4 bytes is too short; skipped`,
    `${DB_PATH}: cannot read the rpm database: not an SQLite database`,
    `${DB_PATH}: cannot read the rpm database: no Packages table`,
  ]);
  assert.match(messages[3] ?? '', /^\/usr\/lib\/sysimage\/rpm\/rpmdb.sqlite: cannot read the rpm database: /);
});

test('the cataloger reads a database reached by both paths once', async () => {
  assert.equal(rpmCataloger.select('/var/lib/rpm/rpmdb.sqlite', 1, 0o644), 'keep');
  assert.equal(rpmCataloger.select('/usr/lib/sysimage/rpm/rpmdb.sqlite', 1, 0o644), 'keep');
  assert.equal(rpmCataloger.select('/var/lib/rpm/Packages', 1, 0o644), undefined);
  const db = file(fixture('rpm/rpmdb.sqlite'));
  const tree: FileTree = { get: () => db, list: () => [] }; // /var/lib/rpm -> ../../usr/lib/sysimage/rpm
  assert.equal((await rpmCataloger.catalog?.(tree, ROCKY, () => undefined))?.length, 3);
});
