import { Cron } from 'croner';
import type { ClaimedJob, JobQueue } from './job-queue.js';

/** What a handler sees of its job. */
export interface JobContext {
  id: number;
  kind: string;
  payload: unknown;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /**
   * Aborted when the lease is lost (another node may now run the job) or the
   * scheduler stops. The handler should stop soon after; its result is then
   * discarded (lease lost) or the job is given back (stopping).
   */
  signal: AbortSignal;
}

export type JobHandler = (job: JobContext) => Promise<void>;

/** Thrown by a handler for a failure no retry can fix: the job is failed at once. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

/** The part of a pino logger the scheduler uses. */
export interface SchedulerLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerOptions {
  queue: JobQueue;
  /** This node's name in leases (shown in job listings). */
  owner: string;
  log: SchedulerLog;
  /** Clock for everything written to the queue (tests move it). Timers still run on real time. */
  now?: () => number;
  /** Pause between polls of the queue. Default 1000. */
  pollMs?: number;
  /** Lease length; heartbeats every leaseMs/3. Default 60000. */
  leaseMs?: number;
  /** Jobs this node runs at once. Default 2. */
  concurrency?: number;
  /** Retry n waits retryBaseMs * 2^(n-1), at most retryMaxMs. Defaults 10 s and 1 h. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Done and failed jobs are purged after this long (at least twice the longest period). Default 7 days. */
  retentionMs?: number;
  /** How long stop() waits for running handlers. Default 10000. */
  stopTimeoutMs?: number;
}

interface Periodic {
  /** Names the schedule in job keys (the interval, or the cron pattern). */
  schedule: string;
  /** The period due at `now` (a number all nodes compute alike), or undefined when none is due. */
  periodAt(now: number): number | undefined;
  /** How long a period's row must outlive it. */
  spanMs: number;
  maxAttempts: number;
  exclusive: boolean;
  /** The last period this node saw a job for; saves a database round trip per poll. */
  enqueuedPeriod?: number;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const PURGE_EVERY_MS = 3600_000;

/**
 * Runs periodic and queued jobs from a JobQueue shared by all nodes. Each
 * poll, this node (1) enqueues the current period's job of every periodic
 * kind, keyed `kind:schedule:period`, so however many nodes do it one job
 * exists per period, and (2) claims due jobs of the kinds it handles, up to
 * `concurrency` at a time, running each with a heartbeat. A handler that
 * resolves completes its job; one that throws is retried with exponential
 * backoff until its attempts run out.
 */
export class Scheduler {
  private readonly queue: JobQueue;
  private readonly owner: string;
  private readonly log: SchedulerLog;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly retentionMs: number;
  private readonly stopTimeoutMs: number;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly periodic = new Map<string, Periodic>();
  private readonly running = new Map<number, Running>();
  private loop: Promise<void> | undefined;
  private ticking: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private nextPurgeAt = 0;

  constructor(opts: SchedulerOptions) {
    this.queue = opts.queue;
    this.owner = opts.owner;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.retryBaseMs = opts.retryBaseMs ?? 10_000;
    this.retryMaxMs = opts.retryMaxMs ?? 3600_000;
    this.retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  }

  /** Runs `handler` once per `intervalMs` (periods aligned to the epoch) across all nodes; never two at once when exclusive (default). */
  every(kind: string, intervalMs: number, handler: JobHandler, opts: { maxAttempts?: number; exclusive?: boolean } = {}): this {
    if (!(intervalMs >= 1)) throw new Error(`interval of ${kind} must be at least 1 ms`);
    this.handle(kind, handler);
    this.periodic.set(kind, {
      schedule: String(intervalMs),
      periodAt: (now) => Math.floor(now / intervalMs),
      spanMs: intervalMs,
      maxAttempts: opts.maxAttempts ?? 3,
      exclusive: opts.exclusive ?? true,
    });
    return this;
  }

  /**
   * Runs `handler` at each time the cron pattern names (UTC), once across all
   * nodes: the period is the fire time, so every node that sees it due
   * enqueues the same key. A fire time that passed while no node ran is skipped.
   */
  cron(kind: string, pattern: string, handler: JobHandler, opts: { maxAttempts?: number; exclusive?: boolean } = {}): this {
    const cron = new Cron(pattern, { paused: true, timezone: 'UTC' });
    const first = cron.nextRun(new Date(this.now()));
    if (!first) throw new Error(`cron pattern of ${kind} never fires: ${pattern}`);
    let upcoming = first.getTime();
    let latest: number | undefined;
    const second = cron.nextRun(first);
    this.handle(kind, handler);
    this.periodic.set(kind, {
      schedule: pattern.replace(/\s+/g, '_'),
      periodAt: (now) => {
        if (now >= upcoming) {
          latest = upcoming;
          upcoming = cron.nextRun(new Date(now))?.getTime() ?? Number.POSITIVE_INFINITY;
        }
        return latest;
      },
      spanMs: second ? second.getTime() - first.getTime() : 24 * 3600_000,
      maxAttempts: opts.maxAttempts ?? 3,
      exclusive: opts.exclusive ?? true,
    });
    return this;
  }

  /** Runs `handler` for queued jobs of `kind` (enqueued by anyone through the queue). */
  handle(kind: string, handler: JobHandler): this {
    if (this.handlers.has(kind)) throw new Error(`a handler for ${kind} jobs is already registered`);
    this.handlers.set(kind, handler);
    return this;
  }

  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /** Claims a job soon instead of after the poll pause (after an enqueue in this process). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Stops claiming, aborts the running handlers' signals and waits up to
   * `timeoutMs` for them. A handler that stopped by failing gives its job
   * back uncounted. One still running after that keeps heartbeating while it
   * runs; once the database is closed or the process exits its lease expires
   * and another node takes the job over. A stopped scheduler does not start again.
   */
  async stop(timeoutMs = this.stopTimeoutMs): Promise<void> {
    this.stopping = true;
    this.wake();
    for (const r of this.running.values()) r.controller.abort(new Error('scheduler stopping'));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const settled = Promise.all([this.loop, this.ticking, ...[...this.running.values()].map((r) => r.done)]).then(() => 'settled' as const);
    const outcome = await Promise.race([settled, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.log.warn({ owner: this.owner, running: [...this.running.keys()] }, 'jobs still running at stop');
  }

  /** Resolves when no handler of this node is running (callers bound the wait). */
  async idle(): Promise<void> {
    for (let round = 0; round < 1000 && this.running.size > 0; round++) {
      await Promise.all([...this.running.values()].map((r) => r.done));
    }
  }

  /** One poll: enqueue due periodic jobs, claim what is due, purge now and then. Never rejects. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        await this.enqueuePeriodic();
        await this.claimDue();
        await this.purgeOld();
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await this.tick();
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.pollMs);
        timer.unref();
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }

  private async enqueuePeriodic(): Promise<void> {
    for (const [kind, p] of this.periodic) {
      if (this.stopping) return;
      const now = this.now();
      const period = p.periodAt(now);
      if (period === undefined || p.enqueuedPeriod === period) continue;
      try {
        const r = await this.queue.enqueue(
          { kind, key: `${kind}:${p.schedule}:${period}`, payload: { period, schedule: p.schedule }, runAt: now, maxAttempts: p.maxAttempts, exclusive: p.exclusive },
          now,
        );
        // While the previous period's job is still active, try again next poll: the period still gets its run once that one ends.
        if (r.outcome !== 'kind-active') p.enqueuedPeriod = period;
      } catch (e) {
        this.log.warn({ err: e, kind }, 'enqueueing a periodic job failed');
      }
    }
  }

  private async claimDue(): Promise<void> {
    const kinds = [...this.handlers.keys()];
    for (let i = 0; i < this.concurrency && this.running.size < this.concurrency && !this.stopping; i++) {
      let job: ClaimedJob | undefined;
      try {
        job = await this.queue.claim(this.owner, kinds, this.leaseMs, this.now());
      } catch (e) {
        this.log.warn({ err: e }, 'claiming a job failed');
        return;
      }
      if (!job) return;
      this.execute(job);
    }
  }

  private async purgeOld(): Promise<void> {
    const now = this.now();
    if (now < this.nextPurgeAt || this.stopping) return;
    this.nextPurgeAt = now + PURGE_EVERY_MS;
    // A period's row must outlive the period, or a late node would create that period's job again.
    const longest = Math.max(0, ...[...this.periodic.values()].map((p) => p.spanMs));
    try {
      const n = await this.queue.purge(now - Math.max(this.retentionMs, 2 * longest));
      if (n > 0) this.log.debug({ purged: n }, 'purged finished jobs');
    } catch (e) {
      this.log.warn({ err: e }, 'purging finished jobs failed');
    }
  }

  private execute(job: ClaimedJob): void {
    const controller = new AbortController();
    const done = this.runJob(job, controller).finally(() => {
      this.running.delete(job.lease.id);
      this.wake();
    });
    this.running.set(job.lease.id, { controller, done });
  }

  /** Runs one claimed job to its end. Never rejects: every failure is logged and left to the lease. */
  private async runJob(job: ClaimedJob, controller: AbortController): Promise<void> {
    const { lease } = job;
    const fields = { jobId: lease.id, kind: job.kind, attempt: job.attempt };
    const handler = this.handlers.get(job.kind)!;
    let leaseUntil = job.leaseUntil;
    let lost = false;
    let beat: Promise<void> | undefined;
    const heartbeat = async (): Promise<void> => {
      const t = this.now();
      // Past our lease we may already have been replaced: stop rather than run twice.
      const kept = t < leaseUntil && (await this.queue.heartbeat(lease, this.leaseMs, t));
      if (kept) leaseUntil = t + this.leaseMs;
      else if (!lost) {
        lost = true;
        clearInterval(timer);
        this.log.warn(fields, 'job lease lost; stopping its handler');
        controller.abort(new Error('job lease lost'));
      }
    };
    // heartbeat() runs only from this timer, so it never sees `timer` uninitialised.
    const timer = setInterval(() => {
      if (lost || beat) return;
      beat = heartbeat()
        .catch((e) => this.log.warn({ ...fields, err: e }, 'job heartbeat failed'))
        .finally(() => (beat = undefined));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    timer.unref();

    let error: unknown;
    let ok = false;
    try {
      await handler({ id: lease.id, kind: job.kind, payload: job.payload, attempt: job.attempt, maxAttempts: job.maxAttempts, signal: controller.signal });
      ok = true;
    } catch (e) {
      error = e;
    } finally {
      clearInterval(timer);
      await beat;
    }

    try {
      if (lost) {
        this.log.warn({ ...fields, ok }, 'job finished after its lease was lost; result discarded');
      } else if (ok) {
        if (!(await this.queue.complete(lease, this.now()))) this.log.warn(fields, 'job completed after losing its lease');
      } else if (this.stopping && controller.signal.aborted) {
        await this.queue.release(lease, this.now());
        this.log.info(fields, 'job given back at stop');
      } else {
        const now = this.now();
        const retryAt = error instanceof PermanentJobError ? null : now + this.backoff(job.attempt);
        const state = await this.queue.fail(lease, errorText(error), retryAt, now);
        this.log.warn({ ...fields, err: error, state, retryAt: state === 'queued' ? retryAt : undefined }, 'job failed');
      }
    } catch (e) {
      this.log.error({ ...fields, err: e }, 'recording a job outcome failed; its lease will expire');
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  }
}

function errorText(e: unknown): string {
  // The message, not the stack: last_error is for status listings; the log line has the stack.
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
