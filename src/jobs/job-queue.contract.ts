import { describe } from 'node:test';
import { contractCases } from '../../test/helpers/contract-case.js';
import assert from 'node:assert/strict';
import type { ClaimedJob, JobQueue } from './job-queue.js';

/**
 * The contract every JobQueue implementation keeps, as the comments in
 * job-queue.ts promise. `make` returns a fresh, empty queue; `node()` opens
 * another queue on the same store as a second node would (its own
 * connections where the store has them); cleanup closes everything.
 */
export interface JobQueueFixture {
  queue: JobQueue;
  node(): Promise<JobQueue>;
  cleanup(): Promise<void>;
}

export interface JobQueueContractOptions {
  skip?: Record<string, string>;
}

const CASE_TIMEOUT_MS = 60_000;
/** Milliseconds since the epoch; every time in the suite is T0 + something. */
const T0 = 1_700_000_000_000;
const LEASE = 1000;

export function jobQueueContract(name: string, make: () => Promise<JobQueueFixture>, options: JobQueueContractOptions = {}): void {
  const contractCase = contractCases(make, options.skip, CASE_TIMEOUT_MS);

  describe(`JobQueue contract: ${name}`, () => {
    contractCase('an enqueued job is listed as queued with its payload and defaults', async ({ queue: q }) => {
      const payload = { digest: 'sha256:' + 'a'.repeat(64), nested: [1, 'two', null, { ü: 'ñ' }] };
      const r = await q.enqueue({ kind: 'scan', payload }, T0);
      assert.equal(r.outcome, 'created');
      const [job, ...rest] = await q.list();
      assert.equal(rest.length, 0);
      assert.deepEqual(job, {
        id: r.id,
        kind: 'scan',
        key: null,
        payload,
        state: 'queued',
        attempts: 0,
        maxAttempts: 3,
        exclusive: false,
        runAt: T0,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        createdAt: T0,
        updatedAt: T0,
      });
      const bare = await q.enqueue({ kind: 'bare' }, T0);
      assert.equal((await q.list({ kind: 'bare' }))[0]?.payload, null, 'payload defaults to null');
      assert.notEqual(bare.id, r.id);
      await assert.rejects(q.enqueue({ kind: '' }, T0));
    });

    contractCase('claim takes one due job, leases it and counts the attempt', async ({ queue: q }) => {
      const { id } = await q.enqueue({ kind: 'k', payload: { n: 1 }, maxAttempts: 5 }, T0);
      const job = await q.claim('node-a', ['k'], LEASE, T0 + 10);
      assert.ok(job);
      assert.equal(job.lease.id, id);
      assert.equal(job.lease.owner, 'node-a');
      assert.equal(typeof job.lease.token, 'string');
      assert.deepEqual(
        { kind: job.kind, payload: job.payload, key: job.key, attempt: job.attempt, maxAttempts: job.maxAttempts, leaseUntil: job.leaseUntil },
        { kind: 'k', payload: { n: 1 }, key: null, attempt: 1, maxAttempts: 5, leaseUntil: T0 + 10 + LEASE },
      );
      assert.equal(await q.claim('node-b', ['k'], LEASE, T0 + 20), undefined, 'a leased job is not claimed again');
      const [row] = await q.list();
      assert.equal(row?.state, 'running');
      assert.equal(row?.leaseOwner, 'node-a');
      assert.equal(row?.leaseUntil, T0 + 10 + LEASE);
      assert.equal(row?.attempts, 1);
      assert.equal(await q.complete(job.lease, T0 + 30), true);
      const [after] = await q.list();
      assert.equal(after?.state, 'done');
      assert.equal(after?.updatedAt, T0 + 30);
      assert.equal(await q.claim('node-b', ['k'], LEASE, T0 + 10 * LEASE), undefined, 'a done job is never claimed');
      assert.equal(await q.complete(job.lease, T0 + 40), false, 'completing twice is refused');
    });

    contractCase('each of 50 jobs is claimed by exactly one of 8 concurrent claimers on separate nodes', async (fx) => {
      const jobs = 50;
      const ids = new Set<number>();
      for (let i = 0; i < jobs; i++) ids.add((await fx.queue.enqueue({ kind: 'work', payload: { i } }, T0)).id);
      const nodes = [fx.queue, ...(await Promise.all(Array.from({ length: 7 }, () => fx.node())))];
      const executions: { owner: string; id: number; i: unknown }[] = [];
      await Promise.all(
        nodes.map(async (node, n) => {
          const owner = `node-${n}`;
          for (let round = 0; round < jobs + 5; round++) {
            const job = await node.claim(owner, ['work'], 60_000, T0 + 1);
            if (!job) return;
            executions.push({ owner, id: job.lease.id, i: job.payload });
            assert.equal(await node.complete(job.lease, T0 + 2), true, `complete of ${job.lease.id} by ${owner}`);
          }
          assert.fail(`${owner} claimed more rounds than there are jobs`);
        }),
      );
      assert.equal(executions.length, jobs, 'one execution per job');
      assert.deepEqual(new Set(executions.map((e) => e.id)), ids, 'every job ran, none twice');
      const done = await fx.queue.list({ state: 'done', limit: 1000 });
      assert.equal(done.length, jobs);
      assert.ok(done.every((j) => j.attempts === 1), 'no job was claimed twice');
    });

    contractCase('a job whose owner died is claimed again after its lease expires, and the dead owner is refused', async (fx) => {
      const { id } = await fx.queue.enqueue({ kind: 'k' }, T0);
      const other = await fx.node();
      const dead = await fx.queue.claim('dead', ['k'], LEASE, T0);
      assert.ok(dead);
      assert.equal(await other.claim('alive', ['k'], LEASE, T0 + LEASE / 2), undefined, 'lease still valid');
      assert.equal(await other.claim('alive', ['k'], LEASE, T0 + LEASE), undefined, 'lease valid up to its last millisecond');
      const alive = await other.claim('alive', ['k'], LEASE, T0 + LEASE + 1);
      assert.ok(alive, 'expired lease is claimed again');
      assert.equal(alive.lease.id, id);
      assert.equal(alive.attempt, 2);
      assert.notEqual(alive.lease.token, dead.lease.token);
      // The dead owner wakes up late: every change it tries is refused.
      assert.equal(await fx.queue.heartbeat(dead.lease, LEASE, T0 + LEASE + 2), false);
      assert.equal(await fx.queue.complete(dead.lease, T0 + LEASE + 3), false);
      assert.equal(await fx.queue.fail(dead.lease, 'late', T0 + 5 * LEASE, T0 + LEASE + 4), null);
      assert.equal(await fx.queue.release(dead.lease, T0 + LEASE + 5), false);
      const [row] = await fx.queue.list();
      assert.deepEqual([row?.state, row?.leaseOwner, row?.attempts, row?.lastError], ['running', 'alive', 2, null]);
      assert.equal(await other.complete(alive.lease, T0 + LEASE + 6), true);
      assert.equal((await fx.queue.list())[0]?.state, 'done');
    });

    contractCase('heartbeat extends only the current lease', async ({ queue: q }) => {
      await q.enqueue({ kind: 'k' }, T0);
      const a = await q.claim('a', ['k'], LEASE, T0);
      assert.ok(a);
      assert.equal(await q.heartbeat(a.lease, LEASE, T0 + 900), true);
      assert.equal((await q.list())[0]?.leaseUntil, T0 + 900 + LEASE);
      assert.equal(await q.claim('b', ['k'], LEASE, T0 + 1500), undefined, 'extended lease holds');
      // The same owner claiming its own expired job again gets a new lease; the old one is dead.
      const again = await q.claim('a', ['k'], LEASE, T0 + 900 + LEASE + 1);
      assert.ok(again);
      assert.equal(again.attempt, 2);
      assert.equal(await q.heartbeat(a.lease, LEASE, T0 + 2000), false, 'old lease of the same owner');
      assert.equal(await q.heartbeat(again.lease, LEASE, T0 + 2000), true);
      assert.equal(await q.heartbeat({ ...again.lease, id: again.lease.id + 1000 }, LEASE, T0 + 2000), false, 'unknown job');
      assert.equal(await q.complete(again.lease, T0 + 2001), true);
      assert.equal(await q.heartbeat(again.lease, LEASE, T0 + 2002), false, 'finished job');
    });

    contractCase('a dedupe key makes one job however often and concurrently it is enqueued', async (fx) => {
      const nodes = [fx.queue, ...(await Promise.all(Array.from({ length: 3 }, () => fx.node())))];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => nodes[i % nodes.length]!.enqueue({ kind: 'gc', key: 'gc:100', payload: { i } }, T0 + i)),
      );
      assert.equal(results.filter((r) => r.outcome === 'created').length, 1);
      assert.equal(results.filter((r) => r.outcome === 'duplicate-key').length, 11);
      const id = results[0]!.id;
      assert.ok(results.every((r) => r.id === id), 'every caller is answered the one job');
      assert.equal((await fx.queue.list()).length, 1);
      // The key holds while the row exists, whatever its state...
      const job = await fx.queue.claim('a', ['gc'], LEASE, T0 + 100);
      assert.ok(job);
      assert.deepEqual(await fx.queue.enqueue({ kind: 'gc', key: 'gc:100' }, T0 + 101), { id, outcome: 'duplicate-key' });
      assert.equal(await fx.queue.complete(job.lease, T0 + 102), true);
      assert.deepEqual(await fx.queue.enqueue({ kind: 'gc', key: 'gc:100' }, T0 + 103), { id, outcome: 'duplicate-key' });
      // ...a different key is a different job, and purge frees the key.
      assert.equal((await fx.queue.enqueue({ kind: 'gc', key: 'gc:101' }, T0 + 104)).outcome, 'created');
      assert.equal(await fx.queue.purge(T0 + 200), 1);
      const fresh = await fx.queue.enqueue({ kind: 'gc', key: 'gc:100' }, T0 + 201);
      assert.equal(fresh.outcome, 'created');
      assert.notEqual(fresh.id, id);
    });

    contractCase('an exclusive kind has at most one job queued or running', async (fx) => {
      const other = await fx.node();
      const first = await fx.queue.enqueue({ kind: 'gc', key: 'gc:1', exclusive: true }, T0);
      assert.equal(first.outcome, 'created');
      assert.deepEqual(await other.enqueue({ kind: 'gc', key: 'gc:2', exclusive: true }, T0 + 1), { id: first.id, outcome: 'kind-active' });
      assert.equal((await fx.queue.enqueue({ kind: 'gc', key: 'gc:plain', runAt: T0 + 1_000_000 }, T0 + 1)).outcome, 'created', 'a non-exclusive job of the kind is not blocked');
      assert.equal((await other.enqueue({ kind: 'lifecycle', key: 'lc:2', exclusive: true }, T0 + 1)).outcome, 'created', 'other kinds are not blocked');
      const job = await fx.queue.claim('a', ['gc'], LEASE, T0 + 2);
      assert.equal(job?.lease.id, first.id, 'oldest run_at first, then id');
      assert.equal((await other.enqueue({ kind: 'gc', key: 'gc:2', exclusive: true }, T0 + 3)).outcome, 'kind-active', 'running blocks too');
      assert.equal(await fx.queue.fail(job!.lease, 'boom', T0 + 50, T0 + 4), 'queued');
      assert.equal((await other.enqueue({ kind: 'gc', key: 'gc:2', exclusive: true }, T0 + 5)).outcome, 'kind-active', 'waiting for a retry blocks too');
      const retry = await other.claim('b', ['gc'], LEASE, T0 + 50);
      assert.equal(retry?.lease.id, first.id);
      assert.equal(await other.complete(retry!.lease, T0 + 51), true);
      assert.equal((await fx.queue.enqueue({ kind: 'gc', key: 'gc:2', exclusive: true }, T0 + 52)).outcome, 'created', 'free again once done');
      const concurrent = await Promise.all(
        ['gc-x', 'gc-x', 'gc-x', 'gc-x'].map((kind, i) => (i % 2 ? other : fx.queue).enqueue({ kind, key: `x:${i}`, exclusive: true }, T0 + 60)),
      );
      assert.equal(concurrent.filter((r) => r.outcome === 'created').length, 1, 'concurrent enqueues of one exclusive kind make one job');
    });

    contractCase('a failing job is retried at retryAt until its attempts run out, then failed with last_error', async ({ queue: q }) => {
      const { id } = await q.enqueue({ kind: 'k', maxAttempts: 3 }, T0);
      let now = T0;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const job = await q.claim('a', ['k'], LEASE, now);
        assert.ok(job, `attempt ${attempt} is claimed`);
        assert.equal(job.lease.id, id);
        assert.equal(job.attempt, attempt);
        const retryAt = now + 100;
        const state = await q.fail(job.lease, `error ${attempt}`, retryAt, now + 1);
        assert.equal(state, attempt < 3 ? 'queued' : 'failed');
        if (attempt < 3) {
          assert.equal(await q.claim('a', ['k'], LEASE, retryAt - 1), undefined, 'not claimed before retryAt');
          const [row] = await q.list();
          assert.deepEqual([row?.state, row?.runAt, row?.lastError, row?.leaseUntil], ['queued', retryAt, `error ${attempt}`, null]);
        }
        now = retryAt;
      }
      const [row] = await q.list({ state: 'failed' });
      assert.deepEqual([row?.id, row?.attempts, row?.lastError], [id, 3, 'error 3']);
      assert.equal(await q.claim('a', ['k'], LEASE, now + 10 * LEASE), undefined, 'a failed job is never claimed');
    });

    contractCase('fail with retryAt null fails at once; long errors are kept truncated', async ({ queue: q }) => {
      await q.enqueue({ kind: 'k', maxAttempts: 10 }, T0);
      const job = await q.claim('a', ['k'], LEASE, T0);
      assert.ok(job);
      const long = 'x'.repeat(100_000);
      assert.equal(await q.fail(job.lease, long, null, T0 + 1), 'failed');
      const [row] = await q.list();
      assert.equal(row?.state, 'failed');
      assert.ok(row?.lastError?.startsWith('xxxx'));
      assert.ok((row?.lastError?.length ?? Infinity) < long.length, 'truncated');
    });

    contractCase('a job whose owner died on its last attempt is failed, not run again', async (fx) => {
      await fx.queue.enqueue({ kind: 'k', maxAttempts: 1 }, T0);
      await fx.queue.enqueue({ kind: 'k', maxAttempts: 1 }, T0 + 5);
      const first = await fx.queue.claim('dead', ['k'], LEASE, T0 + 10);
      assert.ok(first);
      const other = await fx.node();
      const next = await other.claim('alive', ['k'], LEASE, T0 + 10 + LEASE + 1);
      assert.ok(next, 'the claim moves on to the next due job');
      assert.notEqual(next.lease.id, first.lease.id);
      const failed = await fx.queue.list({ state: 'failed' });
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.id, first.lease.id);
      assert.match(failed[0]?.lastError ?? '', /expired/);
      assert.equal(await fx.queue.complete(first.lease, T0 + 2 * LEASE), false);
    });

    contractCase('a job is not claimed before run_at; due jobs come oldest run_at first', async ({ queue: q }) => {
      const later = await q.enqueue({ kind: 'k', runAt: T0 + 5000 }, T0);
      const soon = await q.enqueue({ kind: 'k', runAt: T0 + 2000 }, T0);
      const now = await q.enqueue({ kind: 'k' }, T0 + 1000);
      const order: number[] = [];
      for (const t of [T0 + 1000, T0 + 1999, T0 + 2000, T0 + 4999, T0 + 5000, T0 + 6000]) {
        const job = await q.claim('a', ['k'], LEASE * 100, t);
        if (job) {
          order.push(job.lease.id);
          await q.complete(job.lease, t);
        }
      }
      assert.deepEqual(order, [now.id, soon.id, later.id]);
    });

    contractCase('claim only takes the kinds it is asked for', async ({ queue: q }) => {
      const a = await q.enqueue({ kind: 'a' }, T0);
      const b = await q.enqueue({ kind: 'b' }, T0);
      assert.equal(await q.claim('n', [], LEASE, T0), undefined);
      assert.equal(await q.claim('n', ['c'], LEASE, T0), undefined);
      assert.equal((await q.claim('n', ['b'], LEASE, T0))?.lease.id, b.id);
      assert.equal(await q.claim('n', ['b'], LEASE, T0), undefined);
      assert.equal((await q.claim('n', ['c', 'a', 'b'], LEASE, T0))?.lease.id, a.id);
    });

    contractCase('release gives the job back uncounted, due at once', async (fx) => {
      await fx.queue.enqueue({ kind: 'k', maxAttempts: 1 }, T0);
      const job = await fx.queue.claim('a', ['k'], LEASE, T0);
      assert.ok(job);
      assert.equal(await fx.queue.release(job.lease, T0 + 5), true);
      const [row] = await fx.queue.list();
      assert.deepEqual([row?.state, row?.attempts, row?.runAt, row?.leaseUntil], ['queued', 0, T0 + 5, null]);
      assert.equal(await fx.queue.complete(job.lease, T0 + 6), false, 'the released lease is dead');
      const other = await fx.node();
      const again: ClaimedJob | undefined = await other.claim('b', ['k'], LEASE, T0 + 6);
      assert.equal(again?.attempt, 1, 'the single allowed attempt is still there');
    });

    contractCase('list filters by state and kind, newest first, with a limit', async ({ queue: q }) => {
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push((await q.enqueue({ kind: i % 2 ? 'odd' : 'even', payload: i }, T0 + i)).id);
      const job = await q.claim('a', ['odd'], LEASE, T0 + 10);
      assert.ok(job);
      assert.deepEqual((await q.list()).map((j) => j.id), [...ids].reverse());
      assert.deepEqual((await q.list({ kind: 'even' })).map((j) => j.payload), [4, 2, 0]);
      assert.deepEqual((await q.list({ state: 'running' })).map((j) => j.id), [job.lease.id]);
      assert.deepEqual((await q.list({ state: 'queued', kind: 'odd' })).map((j) => j.payload), [5, 3]);
      assert.deepEqual((await q.list({ limit: 2 })).map((j) => j.id), [ids[5], ids[4]]);
      assert.deepEqual(await q.list({ state: 'failed' }), []);
    });

    contractCase('purge removes only done and failed jobs older than the cutoff, up to the limit', async ({ queue: q }) => {
      for (let i = 0; i < 5; i++) await q.enqueue({ kind: 'd' }, T0);
      for (let i = 0; i < 5; i++) {
        const job = await q.claim('a', ['d'], LEASE, T0);
        assert.ok(job);
        await q.complete(job.lease, T0 + i * 10); // done at T0, +10, ..., +40
      }
      await q.enqueue({ kind: 'f', maxAttempts: 1 }, T0);
      const f = await q.claim('a', ['f'], LEASE, T0);
      await q.fail(f!.lease, 'x', T0 + 1, T0 + 5); // failed at T0+5
      await q.enqueue({ kind: 'queued-old' }, T0 - 1000);
      await q.enqueue({ kind: 'running-old' }, T0 - 1000);
      assert.ok(await q.claim('a', ['running-old'], LEASE, T0 - 1000));
      assert.equal(await q.purge(T0 + 20, 1), 1, 'limit');
      assert.equal(await q.purge(T0 + 20), 2, 'the rest before the cutoff: done +10 and failed +5');
      assert.equal(await q.purge(T0 + 20), 0);
      const left = await q.list();
      assert.deepEqual(left.map((j) => j.state).sort(), ['done', 'done', 'done', 'queued', 'running']);
      assert.deepEqual(left.filter((j) => j.state === 'done').map((j) => j.updatedAt).sort(), [T0 + 20, T0 + 30, T0 + 40]);
    });
  });
}
