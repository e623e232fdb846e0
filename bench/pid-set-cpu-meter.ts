import { readCpuSeconds } from './process-stats.js';
import type { CpuMeter } from './scenarios.js';

/**
 * CPU used by a set of processes that may change while it is measured (the
 * database's backends come and go with the nodes' connection pools).
 * `listPids` is asked at the start and at the end: a process present at both
 * counts its difference, one that appeared counts all of its CPU, one that
 * ended in between is lost (an undercount: pools keep busy connections open,
 * so few end during a scenario). Processes that cannot be read (gone, or
 * another machine's) count nothing.
 */
export function pidSetCpuMeter(name: string, listPids: () => Promise<readonly number[]> | readonly number[]): CpuMeter {
  return {
    name,
    async begin() {
      const before = new Map<number, number>();
      for (const pid of await listPids()) before.set(pid, readCpuSeconds(pid));
      return async () => {
        let total = 0;
        for (const pid of await listPids()) {
          const now = readCpuSeconds(pid);
          if (!Number.isFinite(now)) continue;
          const then = before.get(pid);
          total += then !== undefined && Number.isFinite(then) ? now - then : now;
        }
        return total;
      };
    },
  };
}
