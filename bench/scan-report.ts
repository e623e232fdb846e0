/*
 * The scan benchmark's report: per-round figures of berth and the two
 * references for each image, medians, berth/reference ratios (the median of
 * the per-round ratios, so each ratio compares runs made close together on a
 * shared machine) and the verdict against the image's goal; rendered as a
 * terminal table or JSON.
 */
import { median } from './load.js';
import { ms, num, pad, type Machine } from './bench-report.js';
import type { WorkerResult } from './scan-worker.js';

/** berth or the Node.js walk: the worker's figures plus the wall time seen from outside (process start to exit). */
export type WorkerRun = (WorkerResult & { wallMs: number }) | { error: string };
/** `gzip -dc | tar -t` over every layer: wall time only. */
export type NativeRun = { wallMs: number } | { error: string };

export interface ScanRound {
  round: number;
  berth?: WorkerRun;
  walk?: WorkerRun;
  native?: NativeRun;
}

export interface ScanImageReport {
  id: string;
  title: string;
  layers: number;
  compressedMiB: number;
  tarMiB: number;
  entries: number;
  goal?: { maxMs: number; maxRssMiB: number };
  rounds: ScanRound[];
  median: {
    berth?: { scanMs: number; inventoryMs: number; matchMs: number; wallMs: number; cpuMs: number; maxRssMiB: number; packages?: number; findings?: number };
    walk?: { scanMs: number; wallMs: number; cpuMs: number; maxRssMiB: number };
    native?: { wallMs: number };
    /** berth / walk in-process time, berth / walk peak RSS, berth / gzip|tar wall time. */
    ratio: { timeVsWalk?: number; rssVsWalk?: number; wallVsNative?: number };
    /** Median scan time and highest peak RSS against the goal. */
    pass?: boolean;
  };
}

export interface ScanBenchReport {
  startedAt: string;
  durationS: number;
  machine: Machine;
  /** os.loadavg() (1, 5, 15 minutes) before generating the images and after the last round. */
  loadAverage: { start: number[]; end: number[] };
  options: { rounds: number };
  advisoryDb: { records: number; source: string };
  images: ScanImageReport[];
  notes: string[];
  errors: string[];
}

function ok<T extends object>(r: T | { error: string } | undefined): r is T {
  return r !== undefined && !('error' in r);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

function medianOf(values: (number | undefined)[]): number | undefined {
  const m = median(values.filter((v): v is number => v !== undefined));
  return Number.isFinite(m) ? m : undefined;
}

/** Medians, ratios and verdict of one image's rounds. */
export function summarizeImage(base: Omit<ScanImageReport, 'median'>): ScanImageReport {
  const berth = base.rounds.map((r) => r.berth).filter(ok);
  const walk = base.rounds.map((r) => r.walk).filter(ok);
  const native = base.rounds.map((r) => r.native).filter(ok);
  const m: ScanImageReport['median'] = {
    ratio: {
      timeVsWalk: medianOf(base.rounds.map((r) => (ok(r.berth) && ok(r.walk) ? ratio(r.berth.scanMs, r.walk.scanMs) : undefined))),
      rssVsWalk: medianOf(base.rounds.map((r) => (ok(r.berth) && ok(r.walk) ? ratio(r.berth.maxRssMiB, r.walk.maxRssMiB) : undefined))),
      wallVsNative: medianOf(base.rounds.map((r) => (ok(r.berth) && ok(r.native) ? ratio(r.berth.wallMs, r.native.wallMs) : undefined))),
    },
  };
  if (berth.length > 0) {
    m.berth = {
      scanMs: median(berth.map((r) => r.scanMs)),
      inventoryMs: median(berth.map((r) => r.inventoryMs ?? NaN)),
      matchMs: median(berth.map((r) => r.matchMs ?? NaN)),
      wallMs: median(berth.map((r) => r.wallMs)),
      cpuMs: median(berth.map((r) => r.cpuMs)),
      maxRssMiB: Math.max(...berth.map((r) => r.maxRssMiB)),
      packages: berth[0]?.packages,
      findings: berth[0]?.findings,
    };
    if (base.goal) m.pass = m.berth.scanMs < base.goal.maxMs && m.berth.maxRssMiB < base.goal.maxRssMiB;
  }
  if (walk.length > 0) {
    m.walk = {
      scanMs: median(walk.map((r) => r.scanMs)),
      wallMs: median(walk.map((r) => r.wallMs)),
      cpuMs: median(walk.map((r) => r.cpuMs)),
      maxRssMiB: Math.max(...walk.map((r) => r.maxRssMiB)),
    };
  }
  if (native.length > 0) m.native = { wallMs: median(native.map((r) => r.wallMs)) };
  return { ...base, median: m };
}

const secs = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(x / 1000).toFixed(2)} s`);
const mib = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${Math.round(x)} MiB`);
const times = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(2)}x`);
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

function goalText(i: ScanImageReport): string[] {
  if (!i.goal) return ['', ''];
  const verdict = i.median.pass === undefined ? '-' : i.median.pass ? 'pass' : 'MISS';
  return [`< ${secs(i.goal.maxMs)}, < ${mib(i.goal.maxRssMiB)}`, verdict];
}

/** The terminal table: medians, ratios, goals, then per-round figures. */
export function renderScanTable(r: ScanBenchReport): string {
  const m = r.machine;
  const out = [
    `berth scan benchmark, median of ${r.options.rounds} round${r.options.rounds === 1 ? '' : 's'} (peak RSS: highest of the rounds)`,
    `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}`,
    `load average (1/5/15 min): ${load(r.loadAverage.start)} at the start, ${load(r.loadAverage.end)} at the end`,
    ...r.notes.map((n) => `note: ${n}`),
    '',
  ];
  const head = ['image', 'berth', 'inventory', 'match', 'peak RSS', 'walk', 'peak RSS', 'gzip|tar', 'vs walk', 'RSS vs walk', 'vs gzip|tar', 'goal', ''];
  const rows = r.images.map((i) => {
    const b = i.median.berth;
    const w = i.median.walk;
    return [
      i.title,
      secs(b?.scanMs),
      secs(b?.inventoryMs),
      `${ms(b?.matchMs)} ms`,
      mib(b?.maxRssMiB),
      secs(w?.scanMs),
      mib(w?.maxRssMiB),
      secs(i.median.native?.wallMs),
      times(i.median.ratio.timeVsWalk),
      times(i.median.ratio.rssVsWalk),
      times(i.median.ratio.wallVsNative),
      ...goalText(i),
    ];
  });
  out.push(...pad([head, ...rows]));
  out.push(
    '',
    'berth: inventory + match in one process, timed inside it; walk: gunzip + tar walk in Node, timed the same way;',
    'gzip|tar: `gzip -dc | tar -t` per layer, wall time from spawn to exit (so "vs gzip|tar" compares wall times, Node start-up included).',
  );
  for (const i of r.images) {
    out.push('', `${i.id}: ${i.layers} layers, ${num(i.compressedMiB)} MiB compressed, ${num(i.tarMiB)} MiB of tar, ${i.entries} entries; ` +
      `${i.median.berth?.packages ?? '-'} packages, ${i.median.berth?.findings ?? '-'} findings`);
    for (const round of i.rounds) {
      const cell = (x: WorkerRun | NativeRun | undefined, inner: boolean): string =>
        x === undefined ? '-' : 'error' in x ? `error: ${x.error}` : inner && 'scanMs' in x ? `${secs(x.scanMs)} ${mib(x.maxRssMiB)}` : secs(x.wallMs);
      out.push(`  round ${round.round}: berth ${cell(round.berth, true)}, walk ${cell(round.walk, true)}, gzip|tar ${cell(round.native, false)}`);
    }
  }
  if (r.errors.length > 0) out.push('', 'errors:', ...r.errors.map((e) => `  ${e}`));
  return out.join('\n') + '\n';
}

/** One progress line (stderr, terminals only). */
export function scanProgressLine(round: number, rounds: number, image: string, target: string, run: WorkerRun | NativeRun): string {
  const where = `[${round}/${rounds}] ${image.padEnd(10)} ${target.padEnd(8)}`;
  if ('error' in run) return `${where} error: ${run.error}`;
  if (!('scanMs' in run)) return `${where} ${secs(run.wallMs)} wall`;
  return `${where} ${secs(run.scanMs)} (wall ${secs(run.wallMs)}, cpu ${secs(run.cpuMs)}), peak RSS ${mib(run.maxRssMiB)}`;
}
