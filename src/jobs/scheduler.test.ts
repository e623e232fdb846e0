import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { PermanentJobError, Scheduler, type JobContext, type SchedulerLog } from './scheduler.js';
import { SqlJobQueue } from './sql-job-queue.js';
import type { JobQueue } from './job-queue.js';
import { postgresStores, postgresUnreachable, sqliteStore, type SharedSqlStore } from '../../test/helpers/sql-test-databases.js';

/**
 * The scheduler over real queues. Two Scheduler objects, each with its own
 * SqlJobQueue on one database (its own pool on PostgreSQL), are two nodes.
 * The clock the queue sees is a variable the test moves; timers (poll,
 * heartbeat) run on real time, and every wait on them is bounded.
 */
const T0 = 1_700_000_000_000;
const WAIT_MS = 20_000;

// A pino logger is what main.ts passes; it must fit.
const _pinoFits: SchedulerLog = pino({ level: 'silent' });
void _pinoFits;

class Clock {
  constructor(public t = T0) {}
  readonly now = (): number => this.t;
}

interface LogEntry {
  level: string;
  msg: string;
  obj: object;
}
function memoryLog(): SchedulerLog & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: object, msg: string) => void entries.push({ level, msg, obj });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A queue that counts calls, so a test can wait for "each node polled again" instead of for time. */
class CountingQueue implements JobQueue {
  readonly calls = { enqueue: 0, claim: 0, heartbeat: 0 };
  constructor(private readonly q: JobQueue) {}
  enqueue: JobQueue['enqueue'] = (...a) => (this.calls.enqueue++, this.q.enqueue(...a));
  claim: JobQueue['claim'] = (...a) => (this.calls.claim++, this.q.claim(...a));
  heartbeat: JobQueue['heartbeat'] = async (...a) => {
    const ok = await this.q.heartbeat(...a);
    this.calls.heartbeat++;
    return ok;
  };
  complete: JobQueue['complete'] = (...a) => this.q.complete(...a);
  fail: JobQueue['fail'] = (...a) => this.q.fail(...a);
  release: JobQueue['release'] = (...a) => this.q.release(...a);
  list: JobQueue['list'] = (...a) => this.q.list(...a);
  purge: JobQueue['purge'] = (...a) => this.q.purge(...a);
}

/** Polls `cond` every few ms until it holds; fails after WAIT_MS (a bound, not an assertion about speed). */
async function waitFor(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; Date.now() < deadline; i++) {
    if (await cond()) return;
    await sleep(Math.min(50, 5 + i));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function schedulerSuite(name: string, makeStore: () => Promise<SharedSqlStore>): void {
  describe(`Scheduler on ${name}`, () => {
    /** Two nodes on one database; everything they open is closed when the case ends. */
    async function twoNodes(opts: { leaseMs?: number; pollMs?: number; concurrency?: number } = {}) {
      const store = await makeStore();
      const clock = new Clock();
      const log = memoryLog();
      const queues = [new CountingQueue(new SqlJobQueue(await store.open())), new CountingQueue(new SqlJobQueue(await store.open()))] as const;
      const nodes = queues.map(
        (queue, i) =>
          new Scheduler({
            queue,
            owner: `node-${i}`,
            log,
            now: clock.now,
            pollMs: opts.pollMs ?? 20,
            leaseMs: opts.leaseMs ?? 60_000,
            concurrency: opts.concurrency ?? 2,
            retryBaseMs: 100,
            retryMaxMs: 10_000,
            stopTimeoutMs: 2000,
          }),
      );
      const [a, b] = [nodes[0]!, nodes[1]!];
      const close = async () => {
        await Promise.all(nodes.map((n) => n.stop(500)));
        await store.cleanup();
      };
      return { a, b, queues, clock, log, close };
    }

    test('a periodic job runs once per period however many nodes tick (driven tick by tick)', async () => {
      const { a, b, queues, clock, close } = await twoNodes();
      try {
        const runs: { period: unknown; node: string }[] = [];
        const handler = (node: string) => async (job: JobContext) => void runs.push({ period: job.payload, node });
        a.every('reap', 1000, handler('a'));
        b.every('reap', 1000, handler('b'));
        for (let period = 0; period < 5; period++) {
          for (const offset of [0, 1, 500, 999]) {
            clock.t = T0 - (T0 % 1000) + period * 1000 + offset + 1000;
            await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
            await Promise.all([a.idle(), b.idle()]);
          }
          assert.equal(runs.length, period + 1, `runs after period ${period}`);
        }
        const periods = runs.map((r) => (r.period as { period: number }).period);
        assert.deepEqual(periods, [...new Set(periods)], 'no period twice');
        const jobs = await queues[0].list({ kind: 'reap' });
        assert.equal(jobs.length, 5);
        assert.ok(jobs.every((j) => j.state === 'done' && j.attempts === 1));
      } finally {
        await close();
      }
    });

    test('a periodic job runs once per period with both nodes polling on their own', async () => {
      const { a, b, queues, clock, close } = await twoNodes({ pollMs: 10 });
      try {
        let runs = 0;
        a.every('gc', 60_000, async () => void runs++);
        b.every('gc', 60_000, async () => void runs++);
        clock.t = T0 - (T0 % 60_000) + 60_000 + 5;
        a.start();
        b.start();
        await waitFor('the first run', () => runs === 1);
        // Let each node poll several more times within the same period.
        const seen = queues.map((q) => q.calls.claim);
        await waitFor('more polls', () => queues.every((q, i) => q.calls.claim >= seen[i]! + 5));
        assert.equal(runs, 1, 'one run in the period');
        clock.t += 60_000;
        await waitFor('the second period\u2019s run', () => runs === 2);
        const seen2 = queues.map((q) => q.calls.claim);
        await waitFor('more polls', () => queues.every((q, i) => q.calls.claim >= seen2[i]! + 5));
        assert.equal(runs, 2, 'one run in the second period');
      } finally {
        await close();
      }
    });

    test('a periodic run that outlasts its period is not overlapped; the next period runs once it ends', async () => {
      const { a, b, queues, clock, close } = await twoNodes();
      try {
        let active = 0;
        let most = 0;
        const periods: number[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const gc = async (job: JobContext) => {
          active++;
          most = Math.max(most, active);
          periods.push((job.payload as { period: number }).period);
          if (periods.length === 1) await gate;
          active--;
        };
        a.every('gc', 1000, gc);
        b.every('gc', 1000, gc);
        clock.t = T0 - (T0 % 1000) + 1000;
        await a.tick();
        assert.equal(active, 1, 'the first period runs on A');
        for (const step of [1000, 500, 1000]) {
          clock.t += step; // later periods come while the first run is still going
          await Promise.all([a.tick(), b.tick()]);
        }
        assert.deepEqual(periods.length, 1, 'nothing starts beside the running gc');
        release();
        await a.idle();
        await Promise.all([a.tick(), b.tick()]);
        await Promise.all([a.idle(), b.idle()]);
        assert.equal(periods.length, 2, 'the current period runs once the long run ended');
        assert.equal(periods[1], Math.floor(clock.t / 1000));
        assert.equal(most, 1);
        await Promise.all([a.tick(), b.tick()]);
        await Promise.all([a.idle(), b.idle()]);
        assert.equal(periods.length, 2, 'and only once');
        assert.equal((await queues[0].list({ kind: 'gc' })).length, 2);
      } finally {
        await close();
      }
    });

    test('a handler that throws is retried with backoff and then succeeds', async () => {
      const { a, b, queues, clock, close } = await twoNodes();
      try {
        const attempts: number[] = [];
        const flaky = async (job: JobContext) => {
          attempts.push(job.attempt);
          if (job.attempt < 3) throw new Error(`flaky attempt ${job.attempt}`);
        };
        a.handle('flaky', flaky);
        b.handle('flaky', flaky);
        const { id } = await queues[0].enqueue({ kind: 'flaky', maxAttempts: 5 }, clock.t);
        await a.tick();
        await a.idle();
        assert.deepEqual(attempts, [1]);
        let [row] = await queues[0].list();
        assert.deepEqual([row?.state, row?.runAt, row?.lastError], ['queued', clock.t + 100, 'Error: flaky attempt 1']);
        clock.t += 99;
        await Promise.all([a.tick(), b.tick()]);
        assert.deepEqual(attempts, [1], 'not before the backoff');
        clock.t += 1;
        await b.tick();
        await b.idle();
        assert.deepEqual(attempts, [1, 2]);
        [row] = await queues[0].list();
        assert.equal(row?.runAt, clock.t + 200, 'the backoff doubles');
        clock.t += 200;
        await a.tick();
        await a.idle();
        assert.deepEqual(attempts, [1, 2, 3]);
        [row] = await queues[0].list();
        assert.deepEqual([row?.id, row?.state, row?.attempts], [id, 'done', 3]);
      } finally {
        await close();
      }
    });

    test('a handler that always throws fails its job after maxAttempts; PermanentJobError fails at once', async () => {
      const { a, queues, clock, close } = await twoNodes();
      try {
        let calls = 0;
        a.handle('broken', async () => {
          calls++;
          throw new Error('always broken');
        });
        a.handle('hopeless', async () => {
          throw new PermanentJobError('manifest is gone');
        });
        await queues[0].enqueue({ kind: 'broken', maxAttempts: 3 }, clock.t);
        await queues[0].enqueue({ kind: 'hopeless', maxAttempts: 3 }, clock.t);
        for (let i = 0; i < 10; i++) {
          await a.tick();
          await a.idle();
          clock.t += 10_000;
        }
        assert.equal(calls, 3);
        const broken = await queues[0].list({ kind: 'broken' });
        assert.deepEqual([broken[0]?.state, broken[0]?.attempts, broken[0]?.lastError], ['failed', 3, 'Error: always broken']);
        const hopeless = await queues[0].list({ kind: 'hopeless' });
        assert.deepEqual([hopeless[0]?.state, hopeless[0]?.attempts], ['failed', 1]);
        assert.match(hopeless[0]?.lastError ?? '', /manifest is gone/);
      } finally {
        await close();
      }
    });

    test('heartbeats keep the lease while the handler runs, so another node does not take the job', async () => {
      const { a, b, queues, clock, close } = await twoNodes({ leaseMs: 300 });
      try {
        let release!: () => void;
        const finish = new Promise<void>((r) => (release = r));
        let runs = 0;
        const long = async () => {
          runs++;
          await finish;
        };
        a.handle('long', long);
        b.handle('long', long);
        await queues[0].enqueue({ kind: 'long' }, clock.t);
        await a.tick();
        assert.equal(runs, 1);
        // Each step moves the clock less than a lease, waits for one heartbeat of A, and lets B look.
        for (let step = 0; step < 8; step++) {
          clock.t += 200;
          const before = queues[0].calls.heartbeat;
          await waitFor('a heartbeat', () => queues[0].calls.heartbeat > before);
          await b.tick();
        }
        assert.equal(runs, 1, 'the job ran once although the clock moved far past the first lease');
        release();
        await a.idle();
        const [row] = await queues[0].list();
        assert.deepEqual([row?.state, row?.leaseOwner, row?.attempts], ['done', 'node-0', 1]);
      } finally {
        await close();
      }
    });

    test('a node that loses its lease aborts its handler and its late result is discarded', async () => {
      const { a, b, queues, clock, log, close } = await twoNodes({ leaseMs: 300 });
      try {
        const aborted: string[] = [];
        a.handle('slow', async (job) => {
          await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted.push(String((job.signal.reason as Error).message));
          // Returns normally, as a handler that ignores the reason would: must not complete the job.
        });
        let bRuns = 0;
        b.handle('slow', async () => void bRuns++);
        await queues[0].enqueue({ kind: 'slow' }, clock.t);
        await a.tick();
        clock.t += 301; // A stalled past its lease; B takes the job over.
        await b.tick();
        await b.idle();
        assert.equal(bRuns, 1);
        await waitFor('A to notice', () => aborted.length === 1);
        await a.idle();
        assert.deepEqual(aborted, ['job lease lost']);
        const [row] = await queues[0].list();
        assert.deepEqual([row?.state, row?.leaseOwner, row?.attempts], ['done', 'node-1', 2]);
        assert.ok(log.entries.some((e) => e.msg.includes('lease lost')));
      } finally {
        await close();
      }
    });

    test('concurrency bounds the handlers a node runs at once', async () => {
      const { a, queues, clock, close } = await twoNodes({ concurrency: 2 });
      try {
        let active = 0;
        let most = 0;
        let done = 0;
        const gates: (() => void)[] = [];
        a.handle('job', async () => {
          active++;
          most = Math.max(most, active);
          await new Promise<void>((r) => gates.push(r));
          active--;
          done++;
        });
        for (let i = 0; i < 5; i++) await queues[0].enqueue({ kind: 'job' }, clock.t);
        a.start();
        // Let one handler finish at a time; between, the loop has time to (wrongly) start more than two.
        for (let i = 0; i < 5; i++) {
          await waitFor('a waiting handler', () => gates.length > 0);
          await sleep(30);
          const before = done;
          gates.shift()!();
          await waitFor('it to finish', () => done > before);
        }
        assert.equal(done, 5);
        assert.equal(most, 2);
      } finally {
        await close();
      }
    });

    test('stop() aborts handlers, gives their jobs back and returns even when a handler hangs', async () => {
      const { a, queues, clock, log, close } = await twoNodes({ concurrency: 2 });
      try {
        let started = 0;
        a.handle('polite', async (job) => {
          started++;
          await new Promise<void>((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true }));
        });
        a.handle('stubborn', async () => {
          started++;
          await new Promise<void>(() => {}); // never settles and ignores the signal
        });
        const polite = await queues[0].enqueue({ kind: 'polite' }, clock.t);
        const stubborn = await queues[0].enqueue({ kind: 'stubborn' }, clock.t);
        a.start();
        await waitFor('both handlers', () => started === 2);
        await a.stop(300); // must return although one handler never does
        const rows = new Map((await queues[0].list()).map((j) => [j.id, j]));
        assert.deepEqual([rows.get(polite.id)?.state, rows.get(polite.id)?.attempts], ['queued', 0], 'given back uncounted');
        assert.equal(rows.get(stubborn.id)?.state, 'running', 'keeps its lease until it expires');
        assert.ok(log.entries.some((e) => e.msg === 'jobs still running at stop'));
        const startedBefore = started;
        await a.tick();
        assert.equal(started, startedBefore, 'a stopped scheduler claims nothing');
      } finally {
        await close();
      }
    });

    test('a failing queue is logged, never an unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => void unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      const broken = new Error('database down');
      const fail = async (): Promise<never> => {
        throw broken;
      };
      const queue: JobQueue = { enqueue: fail, claim: fail, heartbeat: fail, complete: fail, fail, release: fail, list: fail, purge: fail };
      const log = memoryLog();
      const s = new Scheduler({ queue, owner: 'n', log, pollMs: 5 });
      try {
        s.every('reap', 1000, async () => {});
        await s.tick();
        s.start();
        await waitFor('several failing polls', () => log.entries.filter((e) => e.msg === 'claiming a job failed').length >= 5);
        assert.ok(log.entries.some((e) => e.msg === 'enqueueing a periodic job failed'));
      } finally {
        await s.stop(1000);
        process.off('unhandledRejection', onUnhandled);
      }
      assert.deepEqual(unhandled, []);
    });
  });
}

schedulerSuite('sqlite', sqliteStore);

const unreachable = await postgresUnreachable();
if (unreachable) {
  test('Scheduler on postgres', { skip: unreachable }, () => {});
} else {
  const pgStores = postgresStores(3);
  after(() => pgStores.dropAll());
  schedulerSuite('postgres', () => pgStores.store());
}
