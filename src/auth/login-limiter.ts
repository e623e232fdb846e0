/*
 * Brute-force protection for logins (basic credentials on /token, /v2/ and /api/v1/, the OAuth2
 * password grant). Failed attempts are counted per username and per client address in a sliding
 * window; past the limit the caller answers TOOMANYREQUESTS with Retry-After.
 *
 * The limits are per node: each process counts what it sees, in memory, so behind a load balancer
 * with N nodes an attacker gets up to N times the limit (still a few hundred guesses an hour, against
 * scrypt-hashed passwords). Counting in the database would make every failed login a write.
 *
 * Memory is bounded: each key keeps at most `limit` timestamps, and each table at most `maxEntries`
 * keys, the least recently failed one leaving first. A flood of usernames can therefore push a real
 * user's counter out early; the per-address table, separate, still holds the flooding address back.
 * A success clears the user's counter only: clearing the address's would let an attacker who owns one
 * account reset the count between guesses at others.
 */

export interface LoginLimiterOptions {
  /** Failures per username within the window; default 10. */
  perUser?: number;
  /** Failures per client address within the window; default 30. */
  perAddress?: number;
  /** Default 300 (5 minutes). */
  windowSeconds?: number;
  /** Keys kept per table; default 10 000. */
  maxEntries?: number;
}

export type LoginDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class LoginLimiter {
  private readonly users: FailureWindow;
  private readonly addresses: FailureWindow;

  constructor(options: LoginLimiterOptions = {}) {
    const windowMs = (options.windowSeconds ?? 300) * 1000;
    const maxEntries = options.maxEntries ?? 10_000;
    for (const [name, value] of Object.entries({ perUser: options.perUser, perAddress: options.perAddress, windowMs, maxEntries })) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new RangeError(`${name} must be a positive integer`);
    }
    this.users = new FailureWindow(options.perUser ?? 10, windowMs, maxEntries);
    this.addresses = new FailureWindow(options.perAddress ?? 30, windowMs, maxEntries);
  }

  /**
   * Whether a login attempt may be made now (milliseconds). Ask before checking the password, so a
   * blocked attacker learns nothing and costs no hashing.
   */
  check(user: string, address: string, now: number): LoginDecision {
    const wait = Math.max(this.users.waitMs(user, now), this.addresses.waitMs(address, now));
    return wait <= 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
  }

  recordFailure(user: string, address: string, now: number): void {
    this.users.record(user, now);
    this.addresses.record(address, now);
  }

  /** Clears the user's failures; the address's stay (see the top of the file). */
  recordSuccess(user: string, _address: string): void {
    this.users.clear(user);
  }
}

/** Recent failure times per key, oldest first; the Map's order is the eviction order. */
class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Milliseconds until the key is under its limit again; 0 or less when it is now. */
  waitMs(key: string, now: number): number {
    const times = this.recent(key, now);
    if (times.length < this.limit) return 0;
    // At most `limit` times are kept, so the block ends when the oldest leaves the window.
    return (times[0] ?? now) + this.windowMs - now;
  }

  record(key: string, now: number): void {
    const times = this.recent(key, now);
    times.push(now);
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    this.failures.delete(key);
    this.failures.set(key, times);
    while (this.failures.size > this.maxEntries) {
      const oldest = this.failures.keys().next();
      if (oldest.done) break;
      this.failures.delete(oldest.value);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const fresh = times.filter((t) => t > now - this.windowMs);
    if (fresh.length === 0) this.failures.delete(key);
    return fresh;
  }
}
