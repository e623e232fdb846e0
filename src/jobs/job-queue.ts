/**
 * A job queue shared by every node through the metadata database. Jobs are
 * rows; a node takes one by claiming a lease on it (owner, token, expiry) and
 * keeps it by heartbeating. A node that dies stops heartbeating, its lease
 * runs out and another node claims the job again: every job runs to
 * completion at least once, and at any moment at most one live lease exists
 * on it. A lease holder that was too slow to heartbeat learns that it lost the
 * job (heartbeat, complete and fail answer "refused") and must stop.
 *
 * Times are milliseconds since the epoch, passed in by the caller, so tests
 * can move the clock and nodes never depend on the database's clock.
 */

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface NewJob {
  kind: string;
  /** Any JSON-serialisable value; handed back as parsed JSON. Default null. */
  payload?: unknown;
  /**
   * Dedupe key. While a row with this key exists (in any state, until
   * `purge` removes it) enqueueing the same key again creates nothing and
   * answers the existing job. N nodes enqueueing "gc for period P" thus make
   * one job.
   */
  key?: string;
  /** Not claimed before this time. Default: now. */
  runAt?: number;
  /** Claims allowed before the job is failed for good. Default 3, at least 1. */
  maxAttempts?: number;
  /**
   * At most one exclusive job of a kind is queued or running at a time:
   * enqueueing another while one is active creates nothing and answers the
   * active job. Used for periodic work that must never overlap (GC).
   */
  exclusive?: boolean;
}

export interface EnqueueResult {
  id: number;
  /** 'created'; 'duplicate-key': a job with this key exists; 'kind-active': an exclusive job of this kind is queued or running. */
  outcome: 'created' | 'duplicate-key' | 'kind-active';
}

/** Proof of one claim. Only the holder of the current lease may heartbeat, complete, fail or release the job. */
export interface JobLease {
  id: number;
  owner: string;
  /** Unique per claim: a reclaimed job has a new token even when the same owner claims it again. */
  token: string;
}

export interface ClaimedJob {
  lease: JobLease;
  kind: string;
  payload: unknown;
  key: string | null;
  /** 1 on the first claim; counts every claim, including those of owners that died. */
  attempt: number;
  maxAttempts: number;
  /** The lease holds until this time unless extended by heartbeat. */
  leaseUntil: number;
}

export interface JobRecord {
  id: number;
  kind: string;
  key: string | null;
  payload: unknown;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  exclusive: boolean;
  runAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobQueue {
  /**
   * Adds a job, state queued, attempts 0. With `key` or `exclusive` it may
   * create nothing and answer an existing job instead (see NewJob). Safe
   * under any number of concurrent callers on any number of nodes.
   * Throws on an empty kind or a payload JSON cannot represent.
   */
  enqueue(job: NewJob, now: number): Promise<EnqueueResult>;

  /**
   * Atomically takes ONE due job of one of `kinds` and leases it to `owner`
   * until `now + leaseMs`: a queued job with run_at <= now, or a running job
   * whose lease expired before now (its owner died). Oldest run_at first.
   * The job becomes running and its attempt count grows by one. A running job
   * with an expired lease that has used all its attempts is failed instead
   * ("lease expired"), and the search goes on. Concurrent claimers on any
   * number of nodes never receive the same claim. Undefined when nothing is due.
   */
  claim(owner: string, kinds: readonly string[], leaseMs: number, now: number): Promise<ClaimedJob | undefined>;

  /**
   * Extends the lease to `now + leaseMs` if `lease` is still the job's
   * current lease and the job is running. False otherwise: the caller lost the
   * job (it was reclaimed after expiry, or finished) and must stop working on it.
   */
  heartbeat(lease: JobLease, leaseMs: number, now: number): Promise<boolean>;

  /** Marks the job done if `lease` is current. False (nothing changed) otherwise. */
  complete(lease: JobLease, now: number): Promise<boolean>;

  /**
   * Records a failed attempt if `lease` is current: the job is queued again to
   * run at `retryAt`, or failed for good when it used all its attempts or
   * `retryAt` is null. `error` is kept as last_error (truncated). Answers
   * the new state, or null when the lease was not current (nothing changed).
   */
  fail(lease: JobLease, error: string, retryAt: number | null, now: number): Promise<'queued' | 'failed' | null>;

  /**
   * Gives the job back unfinished, without counting the attempt (a node
   * shutting down): queued again, due at `now`. False if `lease` is not current.
   */
  release(lease: JobLease, now: number): Promise<boolean>;

  /** Jobs for status, newest first, filtered by state and kind. `limit` is clamped to 1..1000 (default 100). */
  list(filter?: { state?: JobState; kind?: string; limit?: number }): Promise<JobRecord[]>;

  /**
   * Removes up to `limit` (default 1000) done and failed jobs last updated
   * before `olderThan`; answers how many. Their keys become free again, so
   * keep rows at least as long as a dedupe key must hold.
   */
  purge(olderThan: number, limit?: number): Promise<number>;
}
