import type { ManifestStore, PullEvent } from '../metadata/metadata-store.js';

/**
 * Coalesces "last pulled" times in memory and writes them in one transaction
 * every `flushMs`, so a burst of pulls costs one database write, not one per
 * request. Only the newest time per (repository, digest, tag) is kept.
 */
export class PullRecorder {
  private pending = new Map<string, PullEvent>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<ManifestStore, 'recordPulls'>,
    private readonly flushMs: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  record(e: PullEvent): void {
    const key = `${e.repository}\u0000${e.digest}\u0000${e.tag ?? ''}`;
    const prev = this.pending.get(key);
    if (!prev || prev.at < e.at) this.pending.set(key, e);
  }

  /** Writes what is pending; safe to call concurrently (flushes run one after another). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.store.recordPulls(batch);
      } catch (e) {
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
