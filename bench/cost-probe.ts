import { join } from 'node:path';
import { startBerth } from './berth-target.js';
import type { BenchTarget } from './bench-target.js';
import { hostPort, viaHost } from './bench-postgres.js';
import type { BenchS3 } from './bench-s3.js';
import { MiB, sizeLabel } from './blob-family.js';
import { PgRoundTripCounter, type PgCounts } from './pg-round-trip-counter.js';
import { RegistryClient, type Spread } from './registry-client.js';
import { S3RequestCounter } from './s3-request-counter.js';
import { REPOSITORIES, type BenchData, type Scenario } from './scenarios.js';
import { sharedEnv, type Cleanup, type Deployment } from './scale-out-deployments.js';

/**
 * The cost probe: what one operation asks of PostgreSQL and of the bucket.
 * Two extra nodes join a PostgreSQL + S3 deployment after the measured
 * rounds, each reaching the database and the bucket through a counting proxy
 * (so the measured figures never pay for the proxies), and run a few
 * operations one at a time. The job scheduler polls the database about once a
 * second on every node; that background rate is measured while idle first and
 * subtracted.
 */
export interface ProbeCase {
  id: string;
  title: string;
  ops: number;
  /** S3 requests per operation, by S3 API operation. */
  s3PerOp: Record<string, number>;
  s3TotalPerOp: number;
  /** PostgreSQL round trips, statements and transactions per operation, background subtracted. */
  pgPerOp: Omit<PgCounts, 'connections'>;
}

export interface ProbeReport {
  nodes: number;
  /** Round trips per second per node while idle (the job scheduler's polls). */
  idle: { seconds: number; pgRoundTripsPerSecondPerNode: number; s3RequestsPerSecondPerNode: number };
  cases: ProbeCase[];
  notes: string[];
}

interface ProbeSpec {
  id: string;
  title: string;
  ops: number;
  spread: Spread;
  run(client: RegistryClient, i: number): Promise<unknown>;
}

function specs(selected: readonly Scenario[], data: BenchData, quick: boolean): ProbeSpec[] {
  const out: ProbeSpec[] = [];
  const sizes = (group: 'push' | 'pull'): number[] => [...new Set(selected.filter((s) => s.group === group).map((s) => s.blobSize!))].sort((a, b) => a - b);
  const n = (size: number): number => (size >= 100 * MiB ? (quick ? 1 : 2) : quick ? 4 : 10);
  for (const size of sizes('push')) {
    for (const spread of ['operation', 'request'] as const) {
      const family = data.family(size);
      out.push({
        id: `push-${sizeLabel(size)}-${spread === 'operation' ? 'one-node' : 'spread'}`,
        title: `push ${sizeLabel(size)}, ${spread === 'operation' ? 'all requests to one node' : 'each request to the next node'}`,
        ops: n(size),
        spread,
        run: (c, i) => c.pushBlob(REPOSITORIES.push, family.member(`probe/${spread}/${size}/${i}`)),
      });
    }
  }
  for (const size of sizes('pull')) {
    const set = data.pullSet(size);
    out.push({
      id: `pull-${sizeLabel(size)}`,
      title: `pull ${sizeLabel(size)}`,
      ops: n(size),
      spread: 'operation',
      run: (c, i) => c.pullBlob(REPOSITORIES.pull, set[i % set.length]!),
    });
  }
  const m = data.image.manifest;
  if (selected.some((s) => s.group === 'manifest-tag')) {
    out.push({ id: 'manifest-tag', title: 'manifest GET by tag', ops: quick ? 20 : 50, spread: 'operation', run: (c, i) => c.getManifest(REPOSITORIES.image, data.tags[i % data.tags.length]!, m) });
  }
  if (selected.some((s) => s.group === 'manifest-digest')) {
    out.push({ id: 'manifest-digest', title: 'manifest GET by digest', ops: quick ? 20 : 50, spread: 'operation', run: (c) => c.getManifest(REPOSITORIES.image, m.digest, m) });
  }
  if (selected.some((s) => s.group === 'tag-list')) {
    out.push({ id: 'tag-list', title: 'tag list', ops: quick ? 10 : 20, spread: 'operation', run: (c, i) => c.listTags(REPOSITORIES.image, i === 0) });
  }
  return out;
}

const IDLE_MS = 3000;

export async function runCostProbe(o: {
  deployment: Deployment;
  s3: BenchS3;
  data: BenchData;
  selected: readonly Scenario[];
  quick: boolean;
  root: string;
  cleanups: Cleanup[];
  signal: AbortSignal;
  progress: (line: string) => void;
}): Promise<ProbeReport> {
  const { deployment: d } = o;
  if (!d.db || !d.s3Prefix) throw new Error('the cost probe needs a PostgreSQL + S3 deployment');
  const s3Counter = await S3RequestCounter.start(o.s3.endpoint);
  o.cleanups.push(() => s3Counter.stop());
  const pgCounter = await PgRoundTripCounter.start(hostPort(d.db.url));
  o.cleanups.push(() => pgCounter.stop());
  const env = {
    ...sharedEnv(viaHost(d.db.url, '127.0.0.1', pgCounter.port), { ...o.s3, endpoint: s3Counter.url }, d.s3Prefix),
    // Pull times are written in one batch per flush period, not per pull: keep that write out of the windows.
    BERTH_REGISTRY_PULLTIMEFLUSHSECONDS: '3600',
  };
  const nodes: BenchTarget[] = [];
  for (const i of [1, 2]) {
    const node = await startBerth({ dir: join(o.root, 'probe', `node${i}`), env, labelSuffix: '(probe)' });
    o.cleanups.push(() => node.stop());
    nodes.push(node);
  }
  try {
    const urls = nodes.map((x) => x.url);
    // Idle background, after start-up has settled.
    await new Promise((r) => setTimeout(r, 1000));
    const pg0 = pgCounter.snapshot();
    const s30 = s3Counter.snapshot();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleS = (performance.now() - t0) / 1000;
    const idlePg = pgCounter.since(pg0);
    const idleS3 = Object.values(s3Counter.since(s30)).reduce((a, b) => a + b, 0);
    const bg = {
      roundTrips: idlePg.roundTrips / idleS,
      statements: idlePg.statements / idleS,
      transactions: idlePg.transactions / idleS,
    };
    const cases: ProbeCase[] = [];
    for (const spec of specs(o.selected, o.data, o.quick)) {
      o.signal.throwIfAborted();
      // Each case on a fresh client: 'operation' sends everything to the first node; 'request' alternates the two.
      const client = new RegistryClient(spec.spread === 'operation' ? [urls[0]!] : urls, 1, spec.spread);
      try {
        await spec.run(client, 1_000_000 + cases.length); // warm: caches, connections, the repository row
        const p = pgCounter.snapshot();
        const s = s3Counter.snapshot();
        const start = performance.now();
        for (let i = 0; i < spec.ops; i++) await spec.run(client, i);
        const secs = (performance.now() - start) / 1000;
        const pg = pgCounter.since(p);
        const s3 = s3Counter.since(s);
        const perOp = (x: number, background: number): number => Math.max(0, x - background * secs) / spec.ops;
        const s3PerOp = Object.fromEntries(Object.entries(s3).map(([k, v]) => [k, v / spec.ops]));
        cases.push({
          id: spec.id,
          title: spec.title,
          ops: spec.ops,
          s3PerOp,
          s3TotalPerOp: Object.values(s3).reduce((a, b) => a + b, 0) / spec.ops,
          pgPerOp: {
            roundTrips: perOp(pg.roundTrips, bg.roundTrips),
            statements: perOp(pg.statements, bg.statements),
            transactions: perOp(pg.transactions, bg.transactions),
          },
        });
        o.progress(`probe: ${spec.title}: ${cases.at(-1)!.s3TotalPerOp.toFixed(1)} S3 requests, ${cases.at(-1)!.pgPerOp.roundTrips.toFixed(1)} PostgreSQL round trips per operation`);
      } finally {
        client.close();
      }
    }
    return {
      nodes: nodes.length,
      idle: { seconds: idleS, pgRoundTripsPerSecondPerNode: bg.roundTrips / nodes.length, s3RequestsPerSecondPerNode: idleS3 / idleS / nodes.length },
      cases,
      notes: [
        'operations one at a time through counting proxies; one warm-up operation per case first',
        'pull times are written in one transaction per node per registry.pullTimeFlushSeconds (default 5 s), whatever the pull rate: not in these counts',
        'the 100 MiB cases take seconds per operation, so the subtracted background makes their PostgreSQL figures uncertain by about one round trip',
      ],
    };
  } finally {
    await Promise.allSettled(nodes.map((x) => x.stop()));
    await Promise.allSettled([s3Counter.stop(), pgCounter.stop()]);
  }
}
