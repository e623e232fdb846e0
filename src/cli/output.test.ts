import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ManagementApiError } from '../client/management-client.js';
import { describeFailure, fail, formatBytes, parseByteSize, parseCount, parseInstant, renderTable, shortDigest } from './output.js';

describe('renderTable', () => {
  test('pads every column to its widest cell, two spaces apart, right-aligning where asked', () => {
    const out = renderTable([{ header: 'NAME' }, { header: 'SIZE', align: 'right' }], [
      ['a', '1'],
      ['longer', '100'],
    ]);
    assert.equal(out, 'NAME    SIZE\n' + 'a          1\n' + 'longer   100\n');
  });

  test('no line ends in spaces, missing cells are empty, and a wide header sets the width', () => {
    const out = renderTable([{ header: 'DIGEST' }, { header: 'TAGS' }, { header: 'REASON' }], [['sha256:ab', 'v1'], ['x', 'latest,v2', 'kept']]);
    const lines = out.split('\n');
    assert.equal(lines.at(-1), '', 'ends with a newline');
    for (const l of lines) assert.equal(l, l.trimEnd(), `no trailing spaces in ${JSON.stringify(l)}`);
    assert.deepEqual(lines.slice(0, 3), ['DIGEST     TAGS       REASON', 'sha256:ab  v1', 'x          latest,v2  kept']);
  });

  test('counts a non-ASCII character as one column', () => {
    const out = renderTable([{ header: 'N' }, { header: 'X' }], [['é', '1'], ['ab', '2']]);
    assert.equal(out, 'N   X\né   1\nab  2\n');
  });

  test('a table without rows is its header line', () => {
    assert.equal(renderTable([{ header: 'A' }, { header: 'B' }], []), 'A  B\n');
  });
});

describe('formatBytes', () => {
  test('IEC binary prefixes with one decimal; bytes below 1 KiB', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB');
    assert.equal(formatBytes(500_000_000), '476.8 MiB'); // 500e6 / 2^20 = 476.837...
    assert.equal(formatBytes(10 * 2 ** 40), '10.0 TiB');
  });

  test('moves up a unit instead of showing 1024.0', () => {
    assert.equal(formatBytes(2 ** 20 - 1), '1.0 MiB'); // 1023.999 KiB rounds to 1024.0 KiB
    assert.equal(formatBytes(2 ** 20 - 60), '1023.9 KiB'); // 1023.94 KiB
  });
});

describe('parseByteSize', () => {
  test('SI units are powers of 1000, IEC units powers of 1024, a bare number is bytes', () => {
    assert.equal(parseByteSize('10GiB'), 10 * 2 ** 30);
    assert.equal(parseByteSize('500MB'), 500_000_000);
    assert.equal(parseByteSize('1048576'), 1_048_576);
    assert.equal(parseByteSize('7B'), 7);
    assert.equal(parseByteSize('2kib'), 2048);
    assert.equal(parseByteSize('3 TB'), 3_000_000_000_000);
    assert.equal(parseByteSize('0'), 0);
  });

  test('decimals are exact', () => {
    assert.equal(parseByteSize('1.5GiB'), 1_610_612_736);
    assert.equal(parseByteSize('1.1GB'), 1_100_000_000);
    assert.equal(parseByteSize('0.5KiB'), 512);
  });

  test('refuses garbage, ambiguous units, fractions of a byte and overflows', () => {
    for (const bad of ['', ' ', 'abc', 'GiB', '-5', '-5MB', '1e9', '10XB', '10G', '500m', '1.2.3', '10 GiB extra', '1.5', '0.5B', 'Infinity', '0x10', '9999999PiB']) {
      assert.throws(() => parseByteSize(bad), Error, `refuses ${JSON.stringify(bad)}`);
    }
  });

  test('the refusal says what is accepted', () => {
    assert.throws(() => parseByteSize('lots'), /"lots" is not a byte size.*GiB/);
  });
});

describe('parseCount', () => {
  test('whole non-negative numbers only', () => {
    assert.equal(parseCount('100'), 100);
    assert.equal(parseCount('0'), 0);
    for (const bad of ['', '-1', '1.5', 'ten', '1e3', '99999999999999999999']) assert.throws(() => parseCount(bad), Error, bad);
  });
});

describe('parseInstant', () => {
  test('dates and zoned date-times become the UTC instant', () => {
    assert.equal(parseInstant('2026-11-27T10:00:00Z'), '2026-11-27T10:00:00.000Z');
    assert.equal(parseInstant('2026-11-27T11:00:00+01:00'), '2026-11-27T10:00:00.000Z');
    assert.equal(parseInstant('2026-11-27T11:00+0100'), '2026-11-27T10:00:00.000Z');
    assert.equal(parseInstant('2026-11-27T05:30:00-04:30'), '2026-11-27T10:00:00.000Z');
    assert.equal(parseInstant('2026-11-27T10:00:00.5Z'), '2026-11-27T10:00:00.500Z');
    assert.equal(parseInstant('2026-11-27'), '2026-11-27T00:00:00.000Z');
    assert.equal(parseInstant('2028-02-29T00:00:00Z'), '2028-02-29T00:00:00.000Z'); // 2028 is a leap year
  });

  test('refuses what is not ISO 8601 or not a real instant', () => {
    // Date.parse would accept several of these ("November 27, 2026", "2026-02-30").
    for (const bad of ['', 'now', 'yesterday', 'November 27, 2026', '27/11/2026', '2026-02-30', '2027-02-29', '2026-13-01', '2026-11-27T25:00Z', '2026-11-27T10:60Z', '2026-11-27 10:00:00Z', '1732700000']) {
      assert.throws(() => parseInstant(bad), /not an ISO-8601 instant/, `refuses ${JSON.stringify(bad)}`);
    }
  });

  test('a time without a zone is refused with a hint to add one', () => {
    assert.throws(() => parseInstant('2026-11-27T10:00:00'), /add Z or an offset/);
  });
});

test('shortDigest keeps the algorithm and 12 hex digits', () => {
  assert.equal(shortDigest('sha256:' + 'ab'.repeat(32)), 'sha256:abababababab');
  assert.equal(shortDigest('sha512:0123456789abcdef'), 'sha512:0123456789ab');
});

describe('fail', () => {
  afterEach(() => {
    process.exitCode = 0;
  });

  const capture = () => {
    let text = '';
    return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
  };

  test('prints berth: CODE: message and the advice for the code, and sets exit code 1', () => {
    const out = capture();
    fail(new ManagementApiError('POLICY_INVALID', 'rule 1: selection.countNumber must be a positive integer', { status: 400 }), out.stream);
    assert.equal(out.text(), 'berth: POLICY_INVALID: rule 1: selection.countNumber must be a positive integer\nfix the field named above and run again\n');
    assert.equal(process.exitCode, 1);
  });

  test('every code of the contract has its own advice', () => {
    const advice = new Set<string>();
    for (const code of ['NAME_INVALID', 'POLICY_INVALID', 'NOT_FOUND', 'UNSUPPORTED', 'DENIED', 'UNAUTHORIZED', 'UNAVAILABLE', 'UNKNOWN']) {
      const lines = describeFailure(new ManagementApiError(code, 'm', { status: 400 }));
      assert.equal(lines.length, 2, code);
      advice.add(lines[1]!);
    }
    assert.equal(advice.size, 8);
    assert.match(describeFailure(new ManagementApiError('DENIED', 'm', { status: 403 }))[1]!, /lacks the rights for this/);
  });

  test('an unreachable server gets advice about --server, not about a sick server', () => {
    const lines = describeFailure(new ManagementApiError('UNAVAILABLE', 'cannot reach berth at http://h:1: connect ECONNREFUSED', { status: 0 }));
    assert.equal(lines[0], 'berth: UNAVAILABLE: cannot reach berth at http://h:1: connect ECONNREFUSED');
    assert.match(lines[1]!, /--server/);
    assert.doesNotMatch(describeFailure(new ManagementApiError('UNAVAILABLE', 'm', { status: 503 }))[1]!, /--server/);
  });

  test('further errors of the body are listed too; an unknown code and a plain Error print without advice', () => {
    const err = new ManagementApiError('POLICY_INVALID', 'first', {
      status: 400,
      errors: [
        { code: 'POLICY_INVALID', message: 'first' },
        { code: 'POLICY_INVALID', message: 'second' },
      ],
    });
    assert.deepEqual(describeFailure(err), ['berth: POLICY_INVALID: first', 'berth: POLICY_INVALID: second', 'fix the field named above and run again']);
    assert.deepEqual(describeFailure(new ManagementApiError('SOMETHING_NEW', 'x', { status: 400 })), ['berth: SOMETHING_NEW: x']);
    assert.deepEqual(describeFailure(new Error('policy.json is not JSON')), ['berth: policy.json is not JSON']);
  });
});
