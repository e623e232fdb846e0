import { BlobFamily, GiB, MiB, sizeLabel, type BenchBlob } from './blob-family.js';
import { runLoad, percentile, type LoadResult, type Operation } from './load.js';
import { readCpuSeconds, RssSampler } from './process-stats.js';
import { RegistryClient, type Spread } from './registry-client.js';
import { makeImage, type Blob } from '../test/helpers/oci.js';
import type { BenchTarget } from './bench-target.js';

export type Group = 'push' | 'pull' | 'manifest-tag' | 'manifest-digest' | 'tag-list';

export interface Scenario {
  /** Stable id, also what --only matches: "push-1MiB-c8", "manifest-tag-c32". */
  id: string;
  group: Group;
  title: string;
  /** Throughput scenarios are judged by MiB/s, request scenarios by requests/s. */
  unit: 'MiB/s' | 'req/s';
  blobSize?: number;
  concurrency: number;
  /** Bound: this many operations or maxMs, whichever comes first. */
  count: number;
  maxMs: number;
  /** Unmeasured operations first, so both servers are warm (JIT, caches, sockets). */
  warmup: number;
  /** Goal for berth / Distribution on the scenario's unit. */
  goal: number;
  /** Only with --big: shows that memory stays flat for a 1 GiB blob. */
  big?: boolean;
}

export const GOALS: Record<Group, number> = { push: 1.5, pull: 1.0, 'manifest-tag': 3, 'manifest-digest': 3, 'tag-list': 2 };

const REPO_PUSH = 'bench/push';
const REPO_PULL = 'bench/pull';
const REPO_IMAGE = 'bench/image';
/** Distinct blobs per size that the pull scenarios cycle through (c=8 reads 8 different blobs). */
const PULL_SET = 8;
/** The image is tagged "latest" plus this many more. */
const EXTRA_TAGS = 100;

/** Every scenario, with full or --quick counts; --big adds the 1 GiB pair. */
export function allScenarios(opts: { quick: boolean; big: boolean }): Scenario[] {
  const q = (full: number, quick: number): number => (opts.quick ? quick : full);
  const blobCase = (group: 'push' | 'pull', size: number, c: number, count: number, maxS: number, warmup: number, big = false): Scenario => ({
    id: `${group}-${sizeLabel(size)}-c${c}`,
    group,
    title: `${group} ${sizeLabel(size).replace(/(\d)([KMG]iB)/, '$1 $2')} c=${c}`,
    unit: 'MiB/s',
    blobSize: size,
    concurrency: c,
    count,
    maxMs: maxS * 1000,
    warmup,
    goal: GOALS[group],
    big,
  });
  const requestCase = (group: Group, title: string, count: number, warmup: number): Scenario => ({
    id: `${group}-c32`,
    group,
    title: `${title} c=32`,
    unit: 'req/s',
    concurrency: 32,
    count,
    maxMs: q(30, 10) * 1000,
    warmup,
    goal: GOALS[group],
  });
  const list: Scenario[] = [
    blobCase('push', MiB, 1, q(300, 30), q(15, 5), q(10, 3)),
    blobCase('push', MiB, 8, q(800, 80), q(15, 5), q(16, 8)),
    blobCase('push', 100 * MiB, 1, q(4, 2), q(60, 30), 0),
    blobCase('push', 100 * MiB, 8, q(16, 8), q(90, 45), 0),
    blobCase('pull', MiB, 1, q(1000, 100), q(15, 5), q(20, 5)),
    blobCase('pull', MiB, 8, q(2000, 200), q(15, 5), q(40, 8)),
    blobCase('pull', 100 * MiB, 1, q(8, 2), q(60, 30), 0),
    blobCase('pull', 100 * MiB, 8, q(24, 8), q(90, 45), 0),
    requestCase('manifest-tag', 'manifest GET by tag', q(20_000, 2000), q(1000, 200)),
    requestCase('manifest-digest', 'manifest GET by digest', q(20_000, 2000), q(1000, 200)),
    requestCase('tag-list', 'tag list', q(20_000, 2000), q(1000, 200)),
  ];
  if (opts.big) {
    list.push(blobCase('push', GiB, 1, 1, 300, 0, true), blobCase('pull', GiB, 1, q(2, 1), 300, 0, true));
  }
  return list;
}

/** Keeps the scenarios whose id starts with one of `only` (all when empty). */
export function selectScenarios(list: Scenario[], only: string[]): Scenario[] {
  if (only.length === 0) return list;
  return list.filter((s) => only.some((o) => s.id === o || s.id.startsWith(o)));
}

/** The bytes every registry receives: generated once per run, identical for both. */
export class BenchData {
  private readonly families = new Map<number, BlobFamily>();
  readonly image: { config: Blob; layer: Blob; manifest: Blob };
  readonly tags: string[];

  constructor() {
    const img = makeImage({ seed: 7 });
    this.image = { config: img.config, layer: img.layers[0]!, manifest: img.manifest };
    this.tags = ['latest', ...Array.from({ length: EXTRA_TAGS }, (_, i) => `v1.${String(i).padStart(3, '0')}`)];
  }

  family(size: number): BlobFamily {
    let f = this.families.get(size);
    if (!f) {
      f = new BlobFamily(size, `berth-bench-${size}`);
      this.families.set(size, f);
    }
    return f;
  }

  pullSet(size: number): BenchBlob[] {
    const n = size >= GiB ? 1 : PULL_SET;
    return Array.from({ length: n }, (_, i) => this.family(size).member(`pull/${size}/${i}`));
  }
}

/**
 * What a scenario runs against: one server, or several identical nodes that
 * the client spreads its requests over; `pids` are the processes whose CPU and
 * memory count as the server's.
 */
export interface LoadTarget {
  name: string;
  urls: readonly string[];
  pids: readonly number[];
  spread?: Spread;
}

export function loadTargetOf(t: BenchTarget): LoadTarget {
  return { name: t.name, urls: [t.url], pids: [t.pid] };
}

/**
 * CPU used outside the target's own processes on its behalf (the database's
 * backends, the object store): `begin` is called right before the measured
 * load, and the function it returns gives the CPU seconds used since.
 */
export interface CpuMeter {
  name: string;
  begin(): Promise<() => Promise<number>>;
}

/**
 * Pushes what the selected scenarios read (pull blobs, the tagged image); not
 * measured. Fixtures go to the first node; with several nodes the tag list is
 * then checked on every node, which proves they share one store.
 */
export async function prepareTarget(target: LoadTarget, data: BenchData, selected: Scenario[]): Promise<void> {
  const client = new RegistryClient(target.urls[0]!, 4);
  try {
    const pullSizes = new Set(selected.filter((s) => s.group === 'pull').map((s) => s.blobSize!));
    for (const size of pullSizes) {
      const set = data.pullSet(size);
      // Two at a time: quick, without holding many 100 MiB streams at once.
      for (let i = 0; i < set.length; i += 2) await Promise.all(set.slice(i, i + 2).map((b) => client.pushBlob(REPO_PULL, b)));
    }
    if (selected.some((s) => s.group === 'manifest-tag' || s.group === 'manifest-digest' || s.group === 'tag-list')) {
      const { config, layer, manifest } = data.image;
      for (const b of [config, layer]) await client.pushSmallBlob(REPO_IMAGE, b.bytes, b.digest);
      for (const tag of data.tags) await client.putManifest(REPO_IMAGE, tag, manifest.bytes);
    }
  } finally {
    client.close();
  }
  if (selected.some((s) => s.group === 'manifest-tag' || s.group === 'manifest-digest' || s.group === 'tag-list')) {
    for (const url of target.urls) {
      const c = new RegistryClient(url, 1);
      try {
        const check = await c.listTags(REPO_IMAGE, true);
        const missing = data.tags.filter((t) => !check.tags!.includes(t));
        if (missing.length > 0) throw new Error(`${target.name} (${url}): tags missing after setup: ${missing.slice(0, 5).join(', ')}`);
      } finally {
        c.close();
      }
    }
  }
}

/** The blobs a push scenario sent in one round: warm-up and measured, in the order of their names. */
export function pushedBlobs(s: Scenario, data: BenchData, round: number, f: Pick<RunFigures, 'warmupOps' | 'ops'>): BenchBlob[] {
  if (s.group !== 'push') return [];
  const family = data.family(s.blobSize!);
  const names = [
    ...Array.from({ length: f.warmupOps }, (_, i) => `${s.id}/r${round}/warm/${i}`),
    ...Array.from({ length: f.ops }, (_, i) => `${s.id}/r${round}/${i}`),
  ];
  return names.map((n) => family.member(n));
}

/** The repositories the scenarios use: pushes go to `push`, pulls read `pull`, manifest GETs `image`. */
export const REPOSITORIES = { push: REPO_PUSH, pull: REPO_PULL, image: REPO_IMAGE } as const;

export interface RunFigures {
  /** Unmeasured warm-up operations done first (pushes among them stored blobs too). */
  warmupOps: number;
  ops: number;
  bytes: number;
  elapsedMs: number;
  mibPerSec: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server RSS during the measured part: at start, highest sample (every 100 ms), VmHWM after. */
  rss: { startMiB: number; maxMiB: number; peakMiB: number };
  /** CPU seconds used during the measured part by the server process and by this (client) process. */
  cpu: { serverS: number; clientS: number };
  /** Server CPU milliseconds per operation: what the server costs, whatever else runs on the machine. */
  serverCpuMsPerOp: number;
  /** CPU milliseconds per operation of each CpuMeter given to runScenario, by meter name. */
  otherCpuMsPerOp?: Record<string, number>;
}

function operation(s: Scenario, client: RegistryClient, data: BenchData, names: string): Operation {
  switch (s.group) {
    case 'push': {
      const family = data.family(s.blobSize!);
      return async (i) => {
        const b = family.member(`${names}/${i}`);
        await client.pushBlob(REPO_PUSH, b);
        return b.size;
      };
    }
    case 'pull': {
      const set = data.pullSet(s.blobSize!);
      return (i) => client.pullBlob(REPO_PULL, set[i % set.length]!);
    }
    case 'manifest-tag': {
      const m = data.image.manifest;
      return (i) => client.getManifest(REPO_IMAGE, data.tags[i % data.tags.length]!, m);
    }
    case 'manifest-digest': {
      const m = data.image.manifest;
      return () => client.getManifest(REPO_IMAGE, m.digest, m);
    }
    case 'tag-list':
      return async (i) => {
        const r = await client.listTags(REPO_IMAGE, i === 0);
        if (r.tags && r.tags.length !== data.tags.length) {
          throw new Error(`tag list has ${r.tags.length} tags, expected ${data.tags.length}`);
        }
        return r.bytes;
      };
  }
}

/**
 * Runs one scenario against one target: warm-up, then the measured load with
 * the server's RSS sampled. Push names include the round so every push in the
 * run is new content, and the same content for every target.
 */
export async function runScenario(
  s: Scenario,
  target: LoadTarget,
  data: BenchData,
  round: number,
  signal?: AbortSignal,
  meters: readonly CpuMeter[] = [],
): Promise<RunFigures> {
  const client = new RegistryClient(target.urls, s.concurrency, target.spread);
  try {
    let warmupOps = 0;
    if (s.warmup > 0) {
      const warm = operation(s, client, data, `${s.id}/r${round}/warm`);
      warmupOps = (await runLoad({ concurrency: s.concurrency, count: s.warmup, maxMs: s.maxMs, signal }, warm)).ops;
    }
    const op = operation(s, client, data, `${s.id}/r${round}`);
    const samplers = target.pids.map((pid) => new RssSampler(pid));
    const stopSamplers = (): { startMiB: number; maxMiB: number; peakMiB: number } => {
      const r = samplers.map((x) => x.stop());
      const most = (xs: number[]): number => {
        const ok = xs.filter(Number.isFinite);
        return ok.length > 0 ? Math.max(...ok) : NaN;
      };
      return { startMiB: most(r.map((x) => x.startMiB)), maxMiB: most(r.map((x) => x.maxMiB)), peakMiB: most(r.map((x) => x.peakMiB)) };
    };
    const serverCpu = (): number => target.pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
    const ends = await Promise.all(meters.map((m) => m.begin()));
    const serverCpu0 = serverCpu();
    const clientCpu0 = process.cpuUsage();
    let r: LoadResult;
    try {
      r = await runLoad({ concurrency: s.concurrency, count: s.count, maxMs: s.maxMs, signal }, op);
    } catch (err) {
      stopSamplers();
      throw err;
    }
    const rss = stopSamplers();
    const serverS = serverCpu() - serverCpu0;
    const clientCpu = process.cpuUsage(clientCpu0);
    const clientS = (clientCpu.user + clientCpu.system) / 1e6;
    const others = await Promise.all(ends.map((end) => end()));
    const seconds = r.elapsedMs / 1000;
    const perOp = (cpuS: number): number => (r.ops > 0 ? (cpuS * 1000) / r.ops : NaN);
    return {
      warmupOps,
      ops: r.ops,
      bytes: r.bytes,
      elapsedMs: r.elapsedMs,
      mibPerSec: r.bytes / MiB / seconds,
      reqPerSec: r.ops / seconds,
      p50Ms: percentile(r.latenciesMs, 0.5),
      p99Ms: percentile(r.latenciesMs, 0.99),
      rss,
      cpu: { serverS, clientS },
      serverCpuMsPerOp: perOp(serverS),
      ...(meters.length > 0 ? { otherCpuMsPerOp: Object.fromEntries(meters.map((m, i) => [m.name, perOp(others[i]!)])) } : {}),
    };
  } finally {
    client.close();
  }
}
