import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdvisoryDb } from './advisory-db.js';
import { AdvisoryDbError } from './errors.js';
import { buildZip, FIXTURES, tempDir } from './test-helpers.js';

const RECORDS = join(FIXTURES, 'records');
const SUPERSEDED = join(FIXTURES, 'superseded', 'GHSA-whgm-jr23-g3j9.json');
const NEWER = join(RECORDS, 'npm', 'GHSA-whgm-jr23-g3j9.json');

/** Every fixture record as zip entries named like OSV's exports (`<ID>.json`). */
function recordEntries(): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (const sub of readdirSync(RECORDS).sort()) {
    for (const f of readdirSync(join(RECORDS, sub)).sort()) out.push({ name: f, data: readFileSync(join(RECORDS, sub, f)) });
  }
  return out;
}

function withDb(fn: (db: AdvisoryDb, dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = tempDir();
    const db = AdvisoryDb.open(join(dir, 'db'));
    try {
      await fn(db, dir);
    } finally {
      db.close();
      cleanup();
    }
  };
}

const fixedOf = (db: AdvisoryDb, id: string) =>
  db.get(id)?.affected?.[0]?.ranges?.[0]?.events.find((e) => e.fixed !== undefined)?.fixed;

test(
  'a single JSON file imports one record',
  withDb(async (db) => {
    const summary = await db.import(NEWER);
    assert.deepEqual(summary, { records: 1, added: 1, updated: 0, unchanged: 0, skipped: 0, problems: [] });
    assert.equal(db.get('GHSA-whgm-jr23-g3j9')?.summary, 'Uncontrolled Resource Consumption in ansi-html');
    const status = db.status();
    assert.equal(status.records, 1);
    assert.equal(status.generation, 1);
    assert.deepEqual(
      status.ecosystems.map((e) => [e.name, e.records]),
      [['npm', 1]],
    );
  }),
);

test(
  'a folder imports recursively, once; re-importing changes nothing',
  withDb(async (db) => {
    const progress: number[] = [];
    const first = await db.import(RECORDS, (p) => progress.push(p.done));
    assert.deepEqual(first, { records: 12, added: 12, updated: 0, unchanged: 0, skipped: 0, problems: [] });
    assert.equal(progress.at(-1), 12);
    const status = db.status();
    assert.equal(status.records, 12);
    assert.deepEqual(
      status.ecosystems.map((e) => [e.name, e.records]),
      [
        ['Alpine', 1],
        ['Debian', 1],
        ['Go', 2],
        ['Maven', 1],
        ['PyPI', 3],
        ['Ubuntu', 1],
        ['npm', 2],
      ],
    );
    const again = await db.import(RECORDS);
    assert.deepEqual(again, { records: 12, added: 0, updated: 0, unchanged: 12, skipped: 0, problems: [] });
    assert.equal(db.status().generation, 1, 'an import that changed nothing does not move the generation');
  }),
);

test(
  'records are indexed by ecosystem with its release and by normalised name; withdrawn and package-less ones are not',
  withDb(async (db) => {
    await db.import(RECORDS);
    const ids = (q: { ecosystems: string[]; prefixes?: string[]; names: string[] }) =>
      db.candidates({ prefixes: [], ...q }).map((c) => `${c.ecosystem} ${c.record.id}`).sort();
    assert.deepEqual(ids({ ecosystems: ['Alpine:v3.19'], names: ['musl'] }), ['Alpine:v3.19 ALPINE-CVE-2025-26519']);
    assert.deepEqual(ids({ ecosystems: ['Alpine:v3.15'], names: ['musl'] }), []);
    assert.deepEqual(ids({ ecosystems: ['PyPI'], names: ['Flask'] }), ['PyPI GHSA-m2qf-hxjv-5gpq', 'PyPI PYSEC-2023-62']);
    assert.deepEqual(ids({ ecosystems: [], prefixes: ['Ubuntu:2'], names: ['glibc'] }), [
      'Ubuntu:22.04:LTS USN-8611-1',
      'Ubuntu:24.04:LTS USN-8611-1',
      'Ubuntu:26.04:LTS USN-8611-1',
    ]);
    assert.deepEqual(ids({ ecosystems: ['PyPI'], names: ['cryptography'] }), [], 'withdrawn records are not indexed');
    assert.equal(db.get('PYSEC-2021-63')?.withdrawn, '2021-02-10T20:15:00Z', 'but they are stored');
    assert.equal(db.get('CVE-2024-51757')?.aliases?.[0], 'GHSA-96g7-g7g9-jxw8');
  }),
);

test(
  'a newer modified replaces an older record, never the reverse',
  withDb(async (db) => {
    await db.import(SUPERSEDED);
    assert.equal(fixedOf(db, 'GHSA-whgm-jr23-g3j9'), '0.0.9');
    const newer = await db.import(NEWER);
    assert.deepEqual([newer.updated, newer.unchanged], [1, 0]);
    assert.equal(fixedOf(db, 'GHSA-whgm-jr23-g3j9'), '0.0.8');
    const older = await db.import(SUPERSEDED);
    assert.deepEqual([older.updated, older.unchanged], [0, 1]);
    assert.equal(fixedOf(db, 'GHSA-whgm-jr23-g3j9'), '0.0.8');
    assert.equal(db.status().generation, 2);
  }),
);

test(
  'invalid files in a folder are skipped with their reasons',
  withDb(async (db, dir) => {
    const folder = join(dir, 'in');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'a-bad.json'), '{"id": "GHSA-1"');
    writeFileSync(join(folder, 'b-invalid.json'), JSON.stringify({ id: 'GHSA-2', modified: 'yesterday' }));
    writeFileSync(join(folder, 'notes.txt'), 'not a record');
    writeFileSync(join(folder, 'sub', 'GHSA-whgm-jr23-g3j9.json'), readFileSync(NEWER));
    const summary = await db.import(folder);
    assert.equal(summary.added, 1);
    assert.equal(summary.skipped, 2);
    assert.deepEqual(
      summary.problems.map((p) => [p.source.slice(folder.length + 1), p.reason.replace(/:.*JSON.*$/s, ': JSON')]),
      [
        ['a-bad.json', 'not JSON: JSON'],
        ['b-invalid.json', 'GHSA-2: not a valid OSV record: modified: not an RFC 3339 timestamp'],
      ],
    );
  }),
);

test(
  'an OSV all.zip export imports entry by entry',
  withDb(async (db, dir) => {
    const zip = join(dir, 'all.zip');
    writeFileSync(zip, buildZip([...recordEntries(), { name: 'README.txt', data: Buffer.from('ignored') }]));
    const summary = await db.import(zip);
    assert.deepEqual(summary, { records: 12, added: 12, updated: 0, unchanged: 0, skipped: 0, problems: [] });
    assert.equal(db.status().records, 12);
  }),
);

test(
  'a corrupt zip fails clearly and leaves the database as it was',
  withDb(async (db, dir) => {
    await db.import(NEWER);
    const before = db.status();
    const whole = buildZip(recordEntries());
    const cases: [string, Buffer][] = [
      ['truncated.zip', whole.subarray(0, Math.floor(whole.length / 2))],
      ['bad-entry.zip', Buffer.concat([whole.subarray(0, 200), Buffer.alloc(64, 0xff), whole.subarray(264)])],
      ['empty.zip', Buffer.from('PK\u0003\u0004')],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      await assert.rejects(db.import(path), (e: unknown) => e instanceof AdvisoryDbError && e.message.includes(path), name);
      assert.deepEqual(db.status(), before, name);
    }
  }),
);

test(
  'an aborted import rolls back',
  withDb(async (db) => {
    const ac = new AbortController();
    ac.abort(new Error('stopped by test'));
    await assert.rejects(db.import(RECORDS, undefined, ac.signal), /stopped by test/);
    assert.equal(db.status().records, 0);
    // The instance stays usable.
    assert.equal((await db.import(NEWER)).added, 1);
  }),
);

test(
  'one write at a time per instance',
  withDb(async (db) => {
    const first = db.import(RECORDS);
    await assert.rejects(db.import(NEWER), (e: unknown) => e instanceof AdvisoryDbError && /another import or update/.test(e.message));
    await first;
  }),
);

test('missing inputs and databases give clear errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(() => AdvisoryDb.open(join(dir, 'none'), { readonly: true }), (e: unknown) => e instanceof AdvisoryDbError && /no advisory database/.test(e.message));
    const db = AdvisoryDb.open(dir);
    await assert.rejects(db.import(join(dir, 'missing.json')), (e: unknown) => e instanceof AdvisoryDbError && /cannot read .*missing\.json: ENOENT/.test(e.message));
    await db.import(NEWER);
    db.close();
    const ro = AdvisoryDb.open(dir, { readonly: true });
    assert.equal(ro.status().records, 1);
    await assert.rejects(ro.import(SUPERSEDED), /readonly|read-only/i);
    ro.close();
  } finally {
    cleanup();
  }
});
