import { test } from 'node:test';
import assert from 'node:assert/strict';

export interface ContractFixture {
  cleanup(): Promise<void>;
}

/**
 * The harness every contract suite (`*.contract.ts`) shares: each case gets
 * a fresh fixture from `make`, always cleaned up; titles are unique; a case
 * named in `skip` is skipped with its reason (node:test prints it); every
 * case is bounded by `timeoutMs`, so a hanging implementation fails instead
 * of stalling the run.
 */
export function contractCases<F extends ContractFixture>(
  make: () => Promise<F>,
  skip: Record<string, string> = {},
  timeoutMs = 60_000,
): (title: string, fn: (fx: F) => Promise<void>) => void {
  const used = new Set<string>();
  return (title, fn) => {
    assert.ok(!used.has(title), `duplicate contract case title: ${title}`);
    used.add(title);
    test(title, { timeout: timeoutMs, skip: skip[title] ?? false }, async () => {
      const fx = await make();
      try {
        await fn(fx);
      } finally {
        await fx.cleanup();
      }
    });
  };
}
