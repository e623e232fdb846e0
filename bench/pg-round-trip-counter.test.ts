import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgConnectionReader, PgRoundTripCounter, type PgCounts } from './pg-round-trip-counter.js';
import { POSTGRES_ADMIN_URL, postgresUnreachable } from '../test/helpers/sql-test-databases.js';

/**
 * Messages built by hand from the protocol's message formats
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html):
 * typed messages are Byte1 type + Int32 length (counting itself) + body.
 */
function typed(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
const ready = (status: 'I' | 'T' | 'E'): Buffer => typed('Z', Buffer.from(status, 'latin1'));
const complete = (tag: string): Buffer => typed('C', Buffer.from(tag + '\0', 'latin1'));
const authOk = typed('R', Buffer.from([0, 0, 0, 0]));
/** StartupMessage: Int32 length, Int32 196608 (protocol 3.0), "user\0postgres\0\0". */
function startup(): Buffer {
  const params = Buffer.from('user\0postgres\0\0', 'latin1');
  const b = Buffer.alloc(8);
  b.writeInt32BE(8 + params.length, 0);
  b.writeInt32BE(196608, 4);
  return Buffer.concat([b, params]);
}
/** SSLRequest: Int32 8, Int32 80877103. */
function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(80877103, 4);
  return b;
}
const zero = (): PgCounts => ({ connections: 0, roundTrips: 0, statements: 0, transactions: 0 });

/** Feeds `bytes` one byte at a time: the reader must reassemble messages split anywhere. */
function byteByByte(bytes: Buffer, feed: (b: Buffer) => void): void {
  for (let i = 0; i < bytes.length; i++) feed(bytes.subarray(i, i + 1));
}

describe('PgConnectionReader', () => {
  test('counts round trips, statements and transactions of a scripted session, split at every byte', () => {
    const counts = zero();
    const r = new PgConnectionReader(counts);
    byteByByte(startup(), (b) => r.fromClient(b));
    const server = Buffer.concat([
      authOk,
      ready('I'), // end of start-up: not a round trip
      complete('SELECT 1'),
      ready('I'), // autocommit statement: 1 transaction
      complete('BEGIN'),
      ready('T'),
      complete('INSERT 0 1'),
      ready('T'),
      complete('COMMIT'),
      ready('I'), // explicit transaction ends
      typed('E', Buffer.from('SERROR\0\0', 'latin1')),
      ready('I'), // a failed statement outside a block: no transaction committed
    ]);
    byteByByte(server, (b) => r.fromServer(b));
    assert.deepEqual(counts, { connections: 1, roundTrips: 5, statements: 4, transactions: 2 });
  });

  test('skips the one-byte answer to an SSLRequest that was refused', () => {
    const counts = zero();
    const r = new PgConnectionReader(counts);
    r.fromClient(sslRequest());
    r.fromServer(Buffer.from('N', 'latin1'));
    r.fromClient(startup());
    r.fromServer(Buffer.concat([authOk, ready('I'), complete('SELECT 1'), ready('I')]));
    assert.deepEqual(counts, { connections: 1, roundTrips: 1, statements: 1, transactions: 1 });
  });

  test('counts nothing on a connection whose SSLRequest was accepted (encrypted bytes)', () => {
    const counts = zero();
    const r = new PgConnectionReader(counts);
    r.fromClient(sslRequest());
    r.fromServer(Buffer.concat([Buffer.from('S', 'latin1'), ready('I'), complete('X'), ready('I')]));
    assert.deepEqual(counts, { connections: 1, roundTrips: 0, statements: 0, transactions: 0 });
  });
});

const unreachable = await postgresUnreachable();

describe('PgRoundTripCounter against PostgreSQL', { skip: unreachable }, () => {
  let counter: PgRoundTripCounter | undefined;
  after(() => counter?.stop());

  test('a simple query, a parameterised one and an explicit transaction', { timeout: 30_000 }, async () => {
    const u = new URL(POSTGRES_ADMIN_URL);
    counter = await PgRoundTripCounter.start({ host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) });
    u.hostname = '127.0.0.1';
    u.port = String(counter.port);
    const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 10_000 });
    await c.connect();
    try {
      const base = counter.snapshot();
      await c.query('SELECT 1'); // simple Query: one ReadyForQuery, one implicit transaction
      assert.deepEqual(counter.since(base), { connections: 0, roundTrips: 1, statements: 1, transactions: 1 });
      const b2 = counter.snapshot();
      // Extended protocol: Parse, Bind, Describe, Execute, then one Sync: still one round trip.
      await c.query('SELECT $1::int AS n', [7]);
      assert.deepEqual(counter.since(b2), { connections: 0, roundTrips: 1, statements: 1, transactions: 1 });
      const b3 = counter.snapshot();
      await c.query('BEGIN');
      await c.query('SELECT 1');
      await c.query('SELECT 2');
      await c.query('COMMIT');
      assert.deepEqual(counter.since(b3), { connections: 0, roundTrips: 4, statements: 4, transactions: 1 });
    } finally {
      await c.end();
    }
    assert.equal(counter.counts.connections, 1);
  });
});
