import type { AuditEntry, AuditStore } from '../metadata/settings-store.js';

/**
 * Batches audit entries (every pull of a manifest is one) and writes them in
 * one transaction per flush. Entries still pending at a crash are lost; stop()
 * flushes on shutdown. A failed flush keeps the entries for the next one (bounded).
 */
export class AuditRecorder {
  private pending: Omit<AuditEntry, 'id'>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AuditStore,
    private readonly flushMs: number,
    private readonly onError: (e: unknown) => void,
    private readonly maxPending = 100_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  record(entry: Omit<AuditEntry, 'id'>): void {
    if (this.pending.length >= this.maxPending) this.pending.shift();
    this.pending.push(entry);
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.length === 0) return;
      const batch = this.pending;
      this.pending = [];
      try {
        await this.store.appendAudit(batch);
      } catch (e) {
        this.pending = batch.concat(this.pending).slice(-this.maxPending);
        this.onError(e);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
