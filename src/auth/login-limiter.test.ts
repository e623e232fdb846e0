import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from './login-limiter.js';

/*
 * Expected values follow from the limiter's contract (issue 3: failed logins rate limited per user
 * and per client address, answered with Retry-After) and the defaults it documents: 10 failures per
 * user and 30 per address within a sliding 5-minute window. Times are computed by hand below.
 */

const T0 = Date.UTC(2025, 0, 1);
const s = (seconds: number): number => T0 + seconds * 1000;

describe('LoginLimiter', () => {
  test('per user: the 11th attempt within 5 minutes is refused, from any address', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(limiter.check('alice', `10.0.0.${i}`, s(i)), { allowed: true }, `attempt ${i + 1}`);
      limiter.recordFailure('alice', `10.0.0.${i}`, s(i));
    }
    // The oldest failure (t=0) leaves the window at t=300: from t=10 that is 290 s away.
    assert.deepEqual(limiter.check('alice', '10.0.0.99', s(10)), { allowed: false, retryAfterSeconds: 290 });
    assert.deepEqual(limiter.check('alice', '10.0.0.99', s(299.5)), { allowed: false, retryAfterSeconds: 1 });
    assert.deepEqual(limiter.check('bob', '10.0.0.1', s(10)), { allowed: true });
  });

  test('the window slides: one failure leaving lets one attempt in', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < 10; i++) limiter.recordFailure('alice', 'a', s(i));
    assert.deepEqual(limiter.check('alice', 'a', s(300)), { allowed: true });
    limiter.recordFailure('alice', 'a', s(300));
    // Now the failures are at 1..9 and 300; the one at t=1 leaves at t=301.
    assert.deepEqual(limiter.check('alice', 'a', s(300)), { allowed: false, retryAfterSeconds: 1 });
    assert.deepEqual(limiter.check('alice', 'a', s(301)), { allowed: true });
    assert.deepEqual(limiter.check('alice', 'a', s(600)), { allowed: true });
  });

  test('per address: 30 failures over many usernames block the address, not the users elsewhere', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < 30; i++) limiter.recordFailure(`user${i}`, '203.0.113.7', s(0));
    assert.deepEqual(limiter.check('fresh', '203.0.113.7', s(60)), { allowed: false, retryAfterSeconds: 240 });
    assert.deepEqual(limiter.check('user1', '198.51.100.1', s(60)), { allowed: true });
  });

  test('the longer of the two waits is the answer', () => {
    const limiter = new LoginLimiter({ perUser: 2, perAddress: 3, windowSeconds: 100 });
    limiter.recordFailure('bob', 'a', s(0));
    limiter.recordFailure('alice', 'b', s(10));
    limiter.recordFailure('alice', 'a', s(20));
    limiter.recordFailure('carol', 'a', s(30));
    // alice: failures at 10 and 20, free at 110; address a: 0, 20 and 30, free at 100. Checked at 50:
    assert.deepEqual(limiter.check('alice', 'a', s(50)), { allowed: false, retryAfterSeconds: 60 });
    assert.deepEqual(limiter.check('alice', 'c', s(50)), { allowed: false, retryAfterSeconds: 60 });
    assert.deepEqual(limiter.check('bob', 'a', s(50)), { allowed: false, retryAfterSeconds: 50 });
    assert.deepEqual(limiter.check('bob', 'c', s(50)), { allowed: true });
    assert.deepEqual(limiter.check('bob', 'a', s(100)), { allowed: true });
  });

  test("a success clears the user's failures but not the address's", () => {
    const limiter = new LoginLimiter({ perUser: 3, perAddress: 5 });
    for (let i = 0; i < 3; i++) limiter.recordFailure('alice', 'a', s(i));
    assert.equal(limiter.check('alice', 'b', s(5)).allowed, false);
    limiter.recordSuccess('alice', 'a');
    assert.deepEqual(limiter.check('alice', 'b', s(5)), { allowed: true });
    limiter.recordFailure('mallory', 'a', s(6));
    limiter.recordFailure('eve', 'a', s(7));
    // Address a has 5 failures (0, 1, 2, 6, 7) despite alice's success.
    assert.deepEqual(limiter.check('alice', 'a', s(8)), { allowed: false, retryAfterSeconds: 292 });
  });

  test('memory is bounded: past maxEntries the least recently failed key is forgotten', () => {
    const limiter = new LoginLimiter({ perUser: 1, perAddress: 1000, maxEntries: 3 });
    limiter.recordFailure('a', 'x', s(0));
    limiter.recordFailure('b', 'x', s(1));
    limiter.recordFailure('c', 'x', s(2));
    limiter.recordFailure('a', 'x', s(3)); // a is now the most recent
    limiter.recordFailure('d', 'x', s(4)); // b leaves
    assert.equal(limiter.check('b', 'x', s(5)).allowed, true);
    for (const user of ['a', 'c', 'd']) assert.equal(limiter.check(user, 'x', s(5)).allowed, false, user);
    for (let i = 0; i < 10_000; i++) limiter.recordFailure(`flood${i}`, `y${i}`, s(6));
    assert.equal(limiter.check('a', 'x', s(7)).allowed, true);
    assert.equal(limiter.check('flood9999', 'z', s(7)).allowed, false);
  });

  test('options are checked', () => {
    assert.throws(() => new LoginLimiter({ perUser: 0 }), RangeError);
    assert.throws(() => new LoginLimiter({ perAddress: 1.5 }), RangeError);
    assert.throws(() => new LoginLimiter({ windowSeconds: -1 }), RangeError);
    assert.throws(() => new LoginLimiter({ maxEntries: 0 }), RangeError);
  });
});
