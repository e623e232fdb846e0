import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsvRecordError } from './errors.js';
import { baseEcosystem, isLater, isWithdrawn, normalizePackageName, parseOsvJson, parseOsvRecord } from './osv.js';
import { FIXTURES } from './test-helpers.js';

function fixtureFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? fixtureFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );
}

test('every fixture is a valid OSV record and keeps its unknown fields', () => {
  const files = fixtureFiles(FIXTURES);
  assert.equal(files.length, 13);
  for (const file of files) {
    const record = parseOsvJson(readFileSync(file));
    assert.ok(file.endsWith(`${record.id}.json`), file);
  }
  const go = parseOsvJson(readFileSync(join(FIXTURES, 'records', 'go', 'GO-2022-0493.json')));
  assert.deepEqual((go as Record<string, unknown>)['credits'], [{ name: 'Joël Gähwiler (@256dpi)' }]);
});

test('invalid records are refused with a reason naming the field', () => {
  const base = { id: 'GHSA-xxxx-xxxx-xxxx', modified: '2023-05-01T19:22:20Z' };
  const cases: [unknown, RegExp][] = [
    [{ modified: base.modified }, /id/],
    [{ ...base, id: 'has space' }, /not an OSV identifier/],
    [{ ...base, modified: '2023-05-01 19:22:20' }, /modified: not an RFC 3339 timestamp/],
    [
      { ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.2' }] }] }] },
      /exactly one of introduced, fixed, last_affected, limit/,
    ],
    [{ ...base, affected: [{ ranges: [{ type: 'SEMVER', events: [] }] }] }, /events/],
    [{ ...base, aliases: 'CVE-2020-1' }, /aliases/],
    [[], /record/],
    ['text', /record/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseOsvRecord(value), (e: unknown) => e instanceof OsvRecordError && message.test(e.message), JSON.stringify(value));
  }
  assert.throws(() => parseOsvJson('{"id": "x"'), /not JSON/);
});

test('modified timestamps order to the nanosecond', () => {
  assert.ok(isLater('2023-11-08T04:05:08.868477Z', '2022-03-02T12:23:56Z'));
  assert.ok(!isLater('2022-03-02T12:23:56Z', '2023-11-08T04:05:08.868477Z'));
  assert.ok(isLater('2026-07-27T21:14:45.559246236Z', '2026-07-27T21:14:45.559246235Z'));
  assert.ok(!isLater('2026-07-27T21:14:45.559Z', '2026-07-27T21:14:45.559000Z'));
  assert.ok(isLater('2023-01-01T01:00:00+00:00', '2023-01-01T00:30:00Z'));
});

test('withdrawn means a past, real timestamp', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.ok(isWithdrawn({ withdrawn: '2021-02-10T20:15:00Z' }, now));
  assert.ok(!isWithdrawn({}, now));
  assert.ok(!isWithdrawn({ withdrawn: '0001-01-01T00:00:00Z' }, now));
  assert.ok(!isWithdrawn({ withdrawn: '2026-01-01T00:00:00Z' }, now));
});

test('ecosystem suffixes and PyPI names normalise', () => {
  assert.equal(baseEcosystem('Ubuntu:Pro:22.04:LTS'), 'Ubuntu');
  assert.equal(baseEcosystem('npm'), 'npm');
  assert.equal(normalizePackageName('PyPI', 'Flask_SQLAlchemy.ext'), 'flask-sqlalchemy-ext');
  assert.equal(normalizePackageName('npm', 'Foo_Bar'), 'Foo_Bar');
});
