/** One measured operation: how many payload bytes it moved. */
export type Operation = (index: number) => Promise<number>;

export interface LoadOptions {
  concurrency: number;
  /** Stop starting operations after this many... */
  count: number;
  /** ...or after this many milliseconds, whichever comes first (operations in flight finish). */
  maxMs: number;
  signal?: AbortSignal;
}

export interface LoadResult {
  ops: number;
  bytes: number;
  elapsedMs: number;
  /** Latency of every operation, in milliseconds, in completion order. */
  latenciesMs: number[];
}

/**
 * Runs `op` from `concurrency` workers until `count` operations were started or
 * `maxMs` elapsed. The first failure stops every worker and is rethrown once
 * the operations in flight have settled.
 */
export async function runLoad(opts: LoadOptions, op: Operation): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  let bytes = 0;
  let failure: unknown;
  const start = performance.now();
  const more = (): boolean =>
    failure === undefined && next < opts.count && performance.now() - start < opts.maxMs && !opts.signal?.aborted;

  const worker = async (): Promise<void> => {
    while (more()) {
      const index = next++;
      const t0 = performance.now();
      try {
        // Not `bytes += await op()`: that reads `bytes` before the await and loses other workers' adds.
        const moved = await op(index);
        bytes += moved;
      } catch (err) {
        failure ??= err;
        return;
      }
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  const elapsedMs = performance.now() - start;
  if (failure !== undefined) throw failure;
  if (opts.signal?.aborted) throw new Error('interrupted');
  return { ops: latenciesMs.length, bytes, elapsedMs, latenciesMs };
}

/** Nearest-rank percentile (p in 0..1) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
