import { randomUUID } from 'node:crypto';
import type { SqlDatabase, SqlValue } from '../metadata/sql/sql-database.js';
import type { ClaimedJob, EnqueueResult, JobLease, JobQueue, JobRecord, JobState, NewJob } from './job-queue.js';

interface JobRow {
  id: number | string;
  kind: string;
  key: string | null;
  payload: string;
  state: JobState;
  exclusive: number | string;
  attempts: number | string;
  max_attempts: number | string;
  run_at: number | string;
  lease_owner: string | null;
  lease_token: string | null;
  lease_until: number | string | null;
  last_error: string | null;
  created_at: number | string;
  updated_at: number | string;
}

const DEFAULT_MAX_ATTEMPTS = 3;
const MAX_ERROR_CHARS = 4000;
const MAX_LIST = 1000;
/** Exhausted expired jobs one claim fails at most (the rest go on the next claims). */
const MAX_EXHAUSTED_PER_CLAIM = 50;
/** Rounds of "insert, else find who holds the key" before giving up (a row can vanish between the two). */
const MAX_ENQUEUE_ROUNDS = 5;

const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toRecord(r: JobRow): JobRecord {
  return {
    id: num(r.id),
    kind: r.kind,
    key: r.key,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    attempts: num(r.attempts),
    maxAttempts: num(r.max_attempts),
    exclusive: num(r.exclusive) === 1,
    runAt: num(r.run_at),
    leaseOwner: r.lease_owner,
    leaseUntil: numOrNull(r.lease_until),
    lastError: r.last_error,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Condition that `lease` is the job's current claim. Appended to UPDATEs; params: id, token. */
const CURRENT_LEASE = `id = ? AND state = 'running' AND lease_token = ?`;

/**
 * The JobQueue over a SqlDatabase, SQLite or PostgreSQL (usually the one the
 * metadata store uses). Every operation is a single statement, so none holds
 * a connection across round trips. A claim is one UPDATE whose subquery picks
 * the row: on PostgreSQL with FOR UPDATE SKIP LOCKED, so concurrent claimers
 * on any node pass over each other's rows instead of waiting or
 * double-claiming (the lock re-checks the row's state after a concurrent
 * commit); on SQLite a statement runs alone on the database. Every later
 * change names the lease token, so a holder that lost its lease changes nothing.
 */
export class SqlJobQueue implements JobQueue {
  private readonly lockClause: string;

  constructor(private readonly db: SqlDatabase) {
    this.lockClause = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  async enqueue(job: NewJob, now: number): Promise<EnqueueResult> {
    if (!job.kind) throw new Error('job kind must not be empty');
    const payload = JSON.stringify(job.payload ?? null);
    if (payload === undefined) throw new Error(`payload of a ${job.kind} job is not JSON`);
    const maxAttempts = Math.max(1, Math.floor(job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS));
    const params: SqlValue[] = [
      job.kind,
      job.key ?? null,
      payload,
      job.exclusive ? 1 : 0,
      maxAttempts,
      job.runAt ?? now,
      now,
      now,
    ];
    for (let round = 0; round < MAX_ENQUEUE_ROUNDS; round++) {
      const found = await this.insertOrFind(job, params);
      if (found) return found;
      // The row we collided with finished or was purged in between: try again.
    }
    throw new Error(`enqueueing a ${job.kind} job kept colliding with rows that vanished`);
  }

  /** One round of enqueue: the new job, or the job that blocked it; undefined if that one vanished meanwhile. */
  private async insertOrFind(job: NewJob, params: SqlValue[]): Promise<EnqueueResult | undefined> {
    // No conflict target: both the key and the exclusive-active index make the insert a no-op.
    const inserted = await this.db.get<{ id: number | string }>(
      `INSERT INTO jobs (kind, key, payload, state, exclusive, attempts, max_attempts, run_at, created_at, updated_at)
       VALUES (?, ?, ?, 'queued', ?, 0, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING id`,
      params,
    );
    if (inserted) return { id: num(inserted.id), outcome: 'created' };
    // Each statement sees what committed before it started, so these find the blocker.
    if (job.key !== undefined) {
      const same = await this.db.get<{ id: number | string }>('SELECT id FROM jobs WHERE key = ?', [job.key]);
      if (same) return { id: num(same.id), outcome: 'duplicate-key' };
    }
    if (job.exclusive) {
      const active = await this.db.get<{ id: number | string }>(
        `SELECT id FROM jobs WHERE kind = ? AND exclusive = 1 AND (state = 'queued' OR state = 'running')`,
        [job.kind],
      );
      if (active) return { id: num(active.id), outcome: 'kind-active' };
    }
    return undefined;
  }

  async claim(owner: string, kinds: readonly string[], leaseMs: number, now: number): Promise<ClaimedJob | undefined> {
    if (kinds.length === 0) return undefined;
    const kindList = kinds.map(() => '?').join(', ');
    // A job whose owner died on its last allowed attempt is failed, not run again:
    // a job that kills its node must not go round the cluster forever.
    await this.db.run(
      `UPDATE jobs SET state = 'failed', lease_token = NULL, lease_until = NULL, updated_at = ?,
         last_error = 'lease of ' || COALESCE(lease_owner, 'an unknown owner') || ' expired on the last attempt'
       WHERE id IN (
         SELECT id FROM jobs
         WHERE kind IN (${kindList}) AND state = 'running' AND lease_until < ? AND attempts >= max_attempts
         LIMIT ${MAX_EXHAUSTED_PER_CLAIM}${this.lockClause})`,
      [now, ...kinds, now],
    );
    const token = randomUUID();
    const leaseUntil = now + leaseMs;
    const row = await this.db.get<JobRow>(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = ?, lease_until = ?, updated_at = ?
       WHERE id = (
         SELECT id FROM jobs
         WHERE kind IN (${kindList})
           AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until < ? AND attempts < max_attempts))
         ORDER BY run_at, id
         LIMIT 1${this.lockClause})
       RETURNING *`,
      [owner, token, leaseUntil, now, ...kinds, now, now],
    );
    if (!row) return undefined;
    const id = num(row.id);
    return {
      lease: { id, owner, token },
      kind: row.kind,
      payload: JSON.parse(row.payload) as unknown,
      key: row.key,
      attempt: num(row.attempts),
      maxAttempts: num(row.max_attempts),
      leaseUntil,
    };
  }

  async heartbeat(lease: JobLease, leaseMs: number, now: number): Promise<boolean> {
    const n = await this.db.run(`UPDATE jobs SET lease_until = ?, updated_at = ? WHERE ${CURRENT_LEASE}`, [
      now + leaseMs,
      now,
      lease.id,
      lease.token,
    ]);
    return n === 1;
  }

  async complete(lease: JobLease, now: number): Promise<boolean> {
    const n = await this.db.run(
      `UPDATE jobs SET state = 'done', lease_token = NULL, lease_until = NULL, updated_at = ? WHERE ${CURRENT_LEASE}`,
      [now, lease.id, lease.token],
    );
    return n === 1;
  }

  async fail(lease: JobLease, error: string, retryAt: number | null, now: number): Promise<'queued' | 'failed' | null> {
    const message = error.length > MAX_ERROR_CHARS ? error.slice(0, MAX_ERROR_CHARS) + '…' : error;
    const final = `(? = 1 OR attempts >= max_attempts)`;
    const giveUp = retryAt === null ? 1 : 0;
    // One statement decides and writes, so the attempt count it reads is the one it changes.
    const row = await this.db.get<{ state: 'queued' | 'failed' }>(
      `UPDATE jobs SET
         state = CASE WHEN ${final} THEN 'failed' ELSE 'queued' END,
         run_at = CASE WHEN ${final} THEN run_at ELSE ? END,
         lease_token = NULL, lease_until = NULL, last_error = ?, updated_at = ?
       WHERE ${CURRENT_LEASE}
       RETURNING state`,
      [giveUp, giveUp, retryAt ?? now, message, now, lease.id, lease.token],
    );
    return row?.state ?? null;
  }

  async release(lease: JobLease, now: number): Promise<boolean> {
    const n = await this.db.run(
      `UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_at = ?, lease_token = NULL, lease_until = NULL, updated_at = ?
       WHERE ${CURRENT_LEASE}`,
      [now, now, lease.id, lease.token],
    );
    return n === 1;
  }

  async list(filter: { state?: JobState; kind?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? 100)), MAX_LIST);
    const rows = await this.db.all<JobRow>(
      `SELECT * FROM jobs${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`,
      [...params, limit],
    );
    return rows.map(toRecord);
  }

  async purge(olderThan: number, limit = 1000): Promise<number> {
    return this.db.run(
      `DELETE FROM jobs WHERE id IN (
         SELECT id FROM jobs WHERE (state = 'done' OR state = 'failed') AND updated_at < ? ORDER BY id LIMIT ?)`,
      [olderThan, Math.max(1, Math.floor(limit))],
    );
  }
}
